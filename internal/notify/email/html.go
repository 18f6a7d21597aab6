package email

import (
	"html/template"
	"strings"
)

// htmlTemplate lays mail out with tables and inline styles only: Outlook
// renders with Word and Gmail drops <style> blocks in some views, so
// nothing else looks the same everywhere. html/template escapes every
// value; URLs with a scheme other than http(s) or mailto become "#ZgotmplZ".
var htmlTemplate = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="#f3f4f6" style="background-color:#f3f4f6;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" bgcolor="#ffffff" style="width:100%;max-width:600px;background-color:#ffffff;border:1px solid #e5e7eb;border-radius:8px;">
<tr><td height="8" bgcolor="{{.Severity.Color}}" style="height:8px;line-height:8px;font-size:8px;background-color:{{.Severity.Color}};border-radius:8px 8px 0 0;">&nbsp;</td></tr>
<tr><td style="padding:24px 28px 8px 28px;font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#111827;">
{{- if eq .Kind "verify"}}
<p style="margin:0 0 12px 0;font-size:16px;line-height:24px;color:#374151;">Your lastmile verification code is</p>
<p style="margin:0 0 16px 0;font-size:32px;line-height:40px;font-weight:bold;letter-spacing:6px;font-family:Consolas,Menlo,monospace;color:#111827;">{{.Code}}</p>
{{- else}}
<p style="margin:0 0 12px 0;font-size:13px;line-height:18px;color:#6b7280;text-transform:uppercase;letter-spacing:1px;">{{.Heading}}</p>
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td bgcolor="{{.Severity.Color}}" style="background-color:{{.Severity.Color}};border-radius:4px;padding:3px 8px;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:11px;line-height:14px;font-weight:bold;color:#ffffff;letter-spacing:1px;">{{.Severity.Label}}</td></tr></table>
<h1 style="margin:12px 0 4px 0;font-size:22px;line-height:30px;font-weight:bold;color:#111827;">{{.Title}}</h1>
{{- if and .Team (ne .Kind "bundle")}}
<p style="margin:0 0 12px 0;font-size:14px;line-height:20px;color:#6b7280;">Team {{.Team}}</p>
{{- end}}
{{- if .Lines}}
<p style="margin:12px 0 0 0;font-size:15px;line-height:22px;color:#374151;">{{range $i, $l := .Lines}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{- end}}
{{- if .Bundle}}
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin-top:12px;">
{{- range .Bundle}}
<tr><td style="padding:8px 0;border-top:1px solid #e5e7eb;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#111827;"><span style="display:inline-block;background-color:{{.Severity.Color}};color:#ffffff;font-size:10px;font-weight:bold;border-radius:3px;padding:1px 6px;letter-spacing:1px;">{{.Severity.Label}}</span>&nbsp; {{.Title}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .Buttons}}
<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin-top:24px;"><tr>
{{- range .Buttons}}
<td style="padding:0 12px 12px 0;"><table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td align="center" bgcolor="{{.Color}}" style="background-color:{{.Color}};border-radius:6px;"><a href="{{.URL}}" target="_blank" style="display:inline-block;padding:14px 28px;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:17px;line-height:20px;font-weight:bold;color:#ffffff;text-decoration:none;border-radius:6px;">{{.Label}}</a></td></tr></table></td>
{{- end}}
</tr></table>
<p style="margin:0 0 8px 0;font-size:12px;line-height:18px;color:#6b7280;">Links work once and expire.</p>
{{- end}}
{{- if .AlertURL}}
<p style="margin:16px 0 8px 0;font-size:15px;line-height:22px;"><a href="{{.AlertURL}}" target="_blank" style="color:#2563eb;text-decoration:underline;">Open in lastmile</a></p>
{{- end}}
{{- end}}
</td></tr>
<tr><td style="padding:16px 28px 24px 28px;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#9ca3af;border-top:1px solid #f3f4f6;">{{.Footer}}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`))

// html renders the text/html part.
func (v view) html() (string, error) {
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}
