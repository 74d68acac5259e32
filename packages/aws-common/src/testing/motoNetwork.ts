/**
 * moto validates DBSubnetGroupName and (in part) security groups against its EC2 model. There is
 * no EC2 SDK client in this repository, so the few EC2 Query API calls are made directly; moto
 * routes by the credential scope of the Authorization header and does not verify signatures.
 */
import { CreateDBSubnetGroupCommand, RDSClient } from '@aws-sdk/client-rds';

async function ec2(endpoint: string, region: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`EC2 ${params['Action']} failed: ${res.status} ${text}`);
  return text;
}

const pick = (xml: string, tag: string) => {
  const m = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml);
  if (!m) throw new Error(`no <${tag}> in ${xml.slice(0, 300)}`);
  return m[1]!;
};

/** A VPC with two subnets, a DB subnet group and a security group in moto. */
export async function prepareMotoNetwork(endpoint: string, region: string, subnetGroup = 'db-subnets'): Promise<{ subnetGroup: string; securityGroupId: string }> {
  const vpcId = pick(await ec2(endpoint, region, { Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' }), 'vpcId');
  const subnets: string[] = [];
  for (const [i, az] of [`${region}a`, `${region}b`].entries()) {
    subnets.push(pick(await ec2(endpoint, region, { Action: 'CreateSubnet', VpcId: vpcId, CidrBlock: `10.0.${i}.0/24`, AvailabilityZone: az }), 'subnetId'));
  }
  const securityGroupId = pick(await ec2(endpoint, region, { Action: 'CreateSecurityGroup', GroupName: 'postgres', GroupDescription: 'postgres', VpcId: vpcId }), 'groupId');
  const rds = new RDSClient({ region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  try {
    await rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: subnetGroup, DBSubnetGroupDescription: 'test', SubnetIds: subnets }));
  } finally {
    rds.destroy();
  }
  return { subnetGroup, securityGroupId };
}
