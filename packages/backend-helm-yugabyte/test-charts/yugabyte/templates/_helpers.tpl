{{- define "fixture.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 43 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 43 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 43 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fixture.prefix" -}}
{{- if not .Values.oldNamingStyle -}}{{ include "fixture.fullname" . }}-{{- end -}}
{{- end -}}

{{/* selector labels of one component (label = yb-master | yb-tserver) */}}
{{- define "fixture.selector" -}}
{{- if .root.Values.oldNamingStyle }}
app: {{ .label | quote }}
{{- else }}
app.kubernetes.io/name: {{ .label | quote }}
release: {{ .root.Release.Name | quote }}
{{- end }}
{{- end -}}

{{- define "fixture.labels" -}}
heritage: {{ .Release.Service | quote }}
release: {{ .Release.Name | quote }}
chart: {{ .Chart.Name | quote }}
component: {{ .Values.Component | quote }}
{{- end -}}

{{/* memory in whole Gi → bytes * 0.85, like the real chart's memory_hard_limit */}}
{{- define "fixture.memoryHardLimit" -}}
{{- printf "%v" .limits.memory | regexFind "\\d+" | atoi | mul 1024 | mul 1024 | mul 870 -}}
{{- end -}}

{{/* claim template name: datadir<i> with the old naming style, else <fullname>-datadir<i> (yugabyte.volume_name) */}}
{{- define "fixture.volumeName" -}}
{{- if .root.Values.oldNamingStyle -}}datadir{{ .index }}{{- else -}}{{ include "fixture.fullname" .root }}-datadir{{ .index }}{{- end -}}
{{- end -}}
