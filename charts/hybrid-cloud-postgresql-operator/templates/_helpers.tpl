{{- define "hcpg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hcpg.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hcpg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hcpg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- with .Values.extraLabelsSelector }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "hcpg.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hcpg.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hybrid-cloud-postgresql-operator
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "hcpg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hcpg.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hcpg.rbacEnabled" -}}
{{- if kindIs "invalid" .Values.rbac.create }}{{ .Values.serviceAccount.create }}{{ else }}{{ .Values.rbac.create }}{{ end }}
{{- end }}

{{- define "hcpg.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The operator configuration as YAML text, exactly as given (a string) or serialised (a map). */}}
{{- define "hcpg.configText" -}}
{{- if kindIs "string" .Values.operatorConfig }}
{{- .Values.operatorConfig }}
{{- else }}
{{- toYaml .Values.operatorConfig }}
{{- end }}
{{- end }}

{{/* The parsed operator configuration (as YAML, use with fromYaml). */}}
{{- define "hcpg.config" -}}
{{- $c := include "hcpg.configText" . | fromYaml }}
{{- if hasKey $c "Error" }}
{{- fail (printf "operatorConfig is not valid YAML: %s" $c.Error) }}
{{- end }}
{{- if not $c.backend }}
{{- fail "operatorConfig must set `backend` (the default backend)" }}
{{- end }}
{{- toYaml $c }}
{{- end }}

{{/* Namespaces the operator watches; empty = cluster-wide (as JSON list). */}}
{{- define "hcpg.watchNamespaces" -}}
{{- $c := include "hcpg.config" . | fromYaml }}
{{- $op := default dict $c.operator }}
{{- toJson (default list $op.watch_namespaces) }}
{{- end }}

{{- define "hcpg.healthPort" -}}
{{- $c := include "hcpg.config" . | fromYaml }}
{{- $op := default dict $c.operator }}
{{- if hasKey $op "health_port" }}{{ $op.health_port | int }}{{ else }}{{ .Values.pod.ports.http | int }}{{ end }}
{{- end }}

{{- define "hcpg.leaderElection" -}}
{{- $c := include "hcpg.config" . | fromYaml }}
{{- $op := default dict $c.operator }}
{{- $le := default dict $op.leader_election }}
{{- if and (hasKey $le "enabled") (not $le.enabled) }}false{{ else }}true{{ end }}
{{- end }}

{{- define "hcpg.leaseName" -}}
{{- $c := include "hcpg.config" . | fromYaml }}
{{- $op := default dict $c.operator }}
{{- $le := default dict $op.leader_election }}
{{- default "hybrid-cloud-postgresql-operator" $le.lease_name }}
{{- end }}

{{/* "true" when a helm backend (helmbitnami, helmyugabyte) may be used, unless rbac.helmBackends says otherwise. */}}
{{- define "hcpg.helmBackends" -}}
{{- if kindIs "bool" .Values.rbac.helmBackends }}
{{- .Values.rbac.helmBackends }}
{{- else }}
{{- $c := include "hcpg.config" . | fromYaml }}
{{- $ids := concat (list $c.backend) (default list $c.allowed_backends) }}
{{- if or (has "helmbitnami" $ids) (has "helmyugabyte" $ids) }}true{{ else }}false{{ end }}
{{- end }}
{{- end }}

{{- define "hcpg.pluginPaths" -}}
{{- $paths := concat .Values.plugins.builtinPaths .Values.plugins.paths }}
{{- if .Values.plugins.install.packages }}
{{- $paths = append $paths "/opt/hybridcloud-postgresql/plugins/node_modules" }}
{{- end }}
{{- join ":" $paths }}
{{- end }}

{{- /*
  What the operator does with the API, and nothing more:
  - its two kinds: watch them, add/remove its finalizer, write status;
  - credentials Secrets: read, write and delete them by the names the users chose; no list or
    watch, so it never holds every Secret of the cluster in memory (helm backends aside: helm keeps
    its releases in Secrets it finds by label);
  - Events on its objects.
*/}}
{{- define "hcpg.operatorRules" }}
- apiGroups: [hybridcloud.maibornwolff.de]
  resources: [postgresqlservers, postgresqldatabases]
  verbs: [get, list, watch, update, patch]
- apiGroups: [hybridcloud.maibornwolff.de]
  resources: [postgresqlservers/status, postgresqldatabases/status]
  verbs: [get, update, patch]
- apiGroups: [hybridcloud.maibornwolff.de]
  resources: [postgresqlservers/finalizers, postgresqldatabases/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, update, patch, delete{{ if .helm }}, list, watch{{ end }}]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- if .helm }}
# helmbitnami / helmyugabyte: what `helm upgrade --install` of the database charts creates, and
# what the operator reads to see the server come up.
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [services, configmaps, serviceaccounts]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, delete]
- apiGroups: [""]
  resources: [pods, endpoints]
  verbs: [get, list, watch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, update, patch, delete]
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
