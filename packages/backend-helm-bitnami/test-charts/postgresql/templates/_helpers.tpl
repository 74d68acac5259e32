{{/* common.names.fullname of bitnami/common 2.x */}}
{{- define "fixture.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fixture.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fixture.labels" -}}
{{ include "fixture.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "fixture.secretName" -}}
{{- default (include "fixture.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "fixture.postgresPassword" -}}
{{- coalesce .Values.global.postgresql.auth.postgresPassword .Values.auth.postgresPassword -}}
{{- end -}}

{{- define "fixture.image" -}}
{{- $ref := printf "%s/%s:%s" .Values.image.registry .Values.image.repository (toString .Values.image.tag) -}}
{{- if and (not (hasPrefix "bitnami/" .Values.image.repository)) (not .Values.global.security.allowInsecureImages) -}}
{{- fail (printf "Original containers have been substituted for unrecognized ones (%s). Set global.security.allowInsecureImages=true to continue." $ref) -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{- define "fixture.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fixture.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* One password variable as bitnami/postgresql 17.1.0 renders it: NAME_FILE pointing into the mounted Secret (auth.usePasswordFiles, the default), else NAME from a secretKeyRef. */}}
{{- define "fixture.passwordEnv" -}}
{{- if .root.Values.auth.usePasswordFiles }}
            - name: {{ .name }}_FILE
              value: {{ printf "/opt/bitnami/postgresql/secrets/%s" .key | quote }}
{{- else }}
            - name: {{ .name }}
              valueFrom:
                secretKeyRef:
                  name: {{ include "fixture.secretName" .root }}
                  key: {{ .key }}
{{- end }}
{{- end -}}
