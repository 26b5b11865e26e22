{{/*
Signing keys (ADR 0038), only ever from Secrets: this service's Ed25519 private keys (`private.json` in
signing.existingSecret) and the public keys it accepts (`public.json` in each of signing.trustedKeySecrets). No
HMAC: the shared keys are the embedded demo's only, and a service on Kafka refuses them (ADR 0046).
*/}}
{{- define "meshwave-cluster-agent.signingEnv" -}}
{{- if not .Values.signing.trustedKeySecrets }}{{ fail "signing.trustedKeySecrets is required (the Secrets of the public keys this service accepts)" }}{{ end }}
- { name: MESHWAVE_SIGNING_PRIVATE_KEYS_FILE, value: /etc/meshwave/signing/private.json }
{{- $files := list }}
{{- range $i, $secret := .Values.signing.trustedKeySecrets }}
{{- $files = append $files (printf "/etc/meshwave/trusted/%d/public.json" $i) }}
{{- end }}
- { name: MESHWAVE_SIGNING_TRUSTED_KEYS_FILES, value: {{ join "," $files | quote }} }
- { name: MESHWAVE_SIGNING_ACTIVE_KEY, value: {{ required "signing.activeKeyId is required" .Values.signing.activeKeyId | quote }} }
{{- end }}

{{- define "meshwave-cluster-agent.signingMounts" -}}
- { name: signing, mountPath: /etc/meshwave/signing, readOnly: true }
{{- range $i, $secret := .Values.signing.trustedKeySecrets }}
- { name: trusted-{{ $i }}, mountPath: /etc/meshwave/trusted/{{ $i }}, readOnly: true }
{{- end }}
{{- end }}

{{- define "meshwave-cluster-agent.signingVolumes" -}}
- name: signing
  secret: { secretName: {{ required "signing.existingSecret is required" .Values.signing.existingSecret }} }
{{- range $i, $secret := .Values.signing.trustedKeySecrets }}
- name: trusted-{{ $i }}
  secret: { secretName: {{ $secret }} }
{{- end }}
{{- end }}
