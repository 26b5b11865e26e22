{{- define "meshwave-planner.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "meshwave-planner.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meshwave-planner.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshwave-planner.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meshwave-planner.labels" -}}
{{ include "meshwave-planner.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: planner
app.kubernetes.io/part-of: meshwave
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "meshwave-planner.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meshwave-planner.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "meshwave-planner.secretName" -}}
{{- default (printf "%s-auth" (include "meshwave-planner.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}
