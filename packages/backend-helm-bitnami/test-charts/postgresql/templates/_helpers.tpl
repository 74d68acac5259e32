{{- define "fixture.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (default .Chart.Name .Values.nameOverride) | trunc 63 | trimSuffix "-" -}}
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
