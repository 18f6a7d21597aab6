// Package azure holds no Go code: these tests check the templates and the
// script beside them (deploy/azure), which no Azure tool can check here.
package azure

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Built-in Azure role definitions (reference §3.6: the same GUIDs in every
// tenant). Nothing else may be assigned.
var builtinRoles = map[string]string{
	"8d289c81-5878-46d4-8554-54e1e3d8b5cb": "Microsoft Sentinel Reader",
	"3e150937-b8fe-4cfb-8069-0eaf05ecd056": "Microsoft Sentinel Responder",
	"ab8e14d6-4a74-4a29-9ba8-549422addade": "Microsoft Sentinel Contributor",
	"f4c81013-99ee-4d62-a7ee-b3f1f648599a": "Microsoft Sentinel Automation Contributor",
	"73c42c96-874c-492b-b04d-ab87d138a893": "Log Analytics Reader",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}

// Microsoft Graph application permissions (reference §2.7) the connector
// may be granted, and the well-known application ids.
var graphPermissions = map[string]string{
	"34bf0e97-1971-4929-b999-9e2442d941d7": "SecurityIncident.ReadWrite.All",
	"ed4fca05-be46-441f-9803-1873825f8fdb": "SecurityAlert.ReadWrite.All",
	"d903a879-88e0-4c09-b0c9-82f6a1333f84": "SecurityEvents.ReadWrite.All",
}

const (
	graphAppID            = "00000003-0000-0000-c000-000000000000"
	securityInsightsAppID = "98785600-1bb7-4fb9-b9fa-19afe2c8a360"
)

var guidRE = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)

// knownGUIDs fails for a GUID in text that is none of the built-in roles,
// Graph permissions or well-known apps: a typo, or a role copied from a
// random script.
func knownGUIDs(t *testing.T, file, text string) {
	t.Helper()
	for _, g := range guidRE.FindAllString(text, -1) {
		g = strings.ToLower(g)
		if _, ok := builtinRoles[g]; ok {
			continue
		}
		if _, ok := graphPermissions[g]; ok || g == graphAppID || g == securityInsightsAppID {
			continue
		}
		t.Errorf("%s: GUID %s is no built-in role, Graph permission or well-known app", file, g)
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// obj and friends walk decoded JSON, failing when the shape is not there.
func obj(t *testing.T, v any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %q", path, p)
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v: not an object", path)
	}
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

var (
	armParamRE = regexp.MustCompile(`parameters\('([^']+)'\)`)
	armVarRE   = regexp.MustCompile(`variables\('([^']+)'\)`)
)

// walk calls fn for every string in v, with its path; it does not enter
// the keys skip names.
func walk(v any, path string, skip func(path string) bool, fn func(path, s string)) {
	if skip(path) {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walk(e, path+"/"+k, skip, fn)
		}
	case []any:
		for i, e := range x {
			walk(e, path+"/"+strconv.Itoa(i), skip, fn)
		}
	case string:
		fn(path, x)
	}
}

// checkARMTemplate checks that every parameter and variable an ARM
// expression names is declared, every declared parameter is used, every
// resource has an api version, and nested templates (inner scope) get
// exactly their parameters. It returns the nested templates.
func checkARMTemplate(t *testing.T, where string, tpl map[string]any) []map[string]any {
	t.Helper()
	params := obj(t, tpl, "parameters")
	vars, _ := tpl["variables"].(map[string]any)
	used := map[string]bool{}
	var nested []map[string]any
	resources, _ := tpl["resources"].([]any)
	for i, r := range resources {
		res := r.(map[string]any)
		if str(res["apiVersion"]) == "" || str(res["type"]) == "" || res["name"] == nil {
			t.Errorf("%s: resource %d lacks a type, name or apiVersion", where, i)
		}
		if str(res["type"]) != "Microsoft.Resources/deployments" {
			continue
		}
		props := obj(t, res, "properties")
		if str(obj(t, props, "expressionEvaluationOptions")["scope"]) != "inner" {
			t.Errorf("%s: nested deployment %v must use the inner scope", where, res["name"])
		}
		inner := obj(t, props, "template")
		nested = append(nested, inner)
		passed := obj(t, props, "parameters")
		for name, p := range obj(t, inner, "parameters") {
			if _, ok := passed[name]; !ok && p.(map[string]any)["defaultValue"] == nil {
				t.Errorf("%s: nested deployment %v does not pass its parameter %s", where, res["name"], name)
			}
		}
		for name := range passed {
			if _, ok := obj(t, inner, "parameters")[name]; !ok {
				t.Errorf("%s: nested deployment %v passes %s, which its template does not declare", where, res["name"], name)
			}
		}
	}
	skip := func(path string) bool {
		// Nested templates are checked on their own; workflow
		// definitions speak the Logic Apps language (@…), not ARM's.
		return strings.HasSuffix(path, "/properties/template") || strings.HasSuffix(path, "/properties/definition")
	}
	walk(tpl, "", skip, func(path, s string) {
		if !strings.HasPrefix(s, "[") || strings.HasPrefix(s, "[[") {
			return
		}
		for _, m := range armParamRE.FindAllStringSubmatch(s, -1) {
			used[m[1]] = true
			if _, ok := params[m[1]]; !ok {
				t.Errorf("%s%s: parameter %q is not declared", where, path, m[1])
			}
		}
		for _, m := range armVarRE.FindAllStringSubmatch(s, -1) {
			if _, ok := vars[m[1]]; !ok {
				t.Errorf("%s%s: variable %q is not declared", where, path, m[1])
			}
		}
	})
	for name := range params {
		if !used[name] {
			t.Errorf("%s: parameter %s is never used", where, name)
		}
	}
	return nested
}

func resourcesOf(t *testing.T, tpl map[string]any, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	rs, _ := tpl["resources"].([]any)
	for _, r := range rs {
		if m := r.(map[string]any); strings.EqualFold(str(m["type"]), typ) {
			out = append(out, m)
		}
	}
	return out
}

func TestLogicAppPushTemplate(t *testing.T) {
	text := read(t, "logicapp-push.json")
	knownGUIDs(t, "logicapp-push.json", text)
	var tpl map[string]any
	if err := json.Unmarshal([]byte(text), &tpl); err != nil {
		t.Fatalf("logicapp-push.json: %v", err)
	}
	if !strings.Contains(str(tpl["$schema"]), "deploymentTemplate.json") || tpl["contentVersion"] == nil {
		t.Fatal("not an ARM deployment template (az deployment group create)")
	}
	nested := checkARMTemplate(t, "logicapp-push.json", tpl)
	if len(nested) != 1 {
		t.Fatalf("%d nested templates, want the workspace's one", len(nested))
	}
	checkARMTemplate(t, "logicapp-push.json (workspace)", nested[0])
	params := obj(t, tpl, "parameters")
	vars := obj(t, tpl, "variables")
	if !strings.EqualFold(str(obj(t, params, "pushUrl")["type"]), "securestring") {
		t.Error("pushUrl must be a secure string: the secret is in it")
	}

	// The Sentinel connection signs in with the Logic App's identity.
	conns := resourcesOf(t, tpl, "Microsoft.Web/connections")
	if len(conns) != 1 || str(obj(t, conns[0], "properties")["parameterValueType"]) != "Alternative" ||
		!strings.Contains(str(vars["sentinelApiId"]), "'azuresentinel'") {
		t.Fatalf("connection %v: want one azuresentinel connection with parameterValueType Alternative (managed identity)", conns)
	}

	// The workflow: Sentinel incident trigger, then a POST of its body to
	// the push URL, retried.
	wfs := resourcesOf(t, tpl, "Microsoft.Logic/workflows")
	if len(wfs) != 1 {
		t.Fatalf("%d workflows", len(wfs))
	}
	wf := wfs[0]
	if str(obj(t, wf, "identity")["type"]) != "SystemAssigned" {
		t.Error("the workflow needs its system-assigned identity for the Sentinel connection")
	}
	def := obj(t, wf, "properties", "definition")
	defParams := obj(t, def, "parameters")
	walk(def, "", func(string) bool { return false }, func(path, s string) {
		if !strings.HasPrefix(s, "@") {
			return
		}
		for _, m := range armParamRE.FindAllStringSubmatch(s, -1) {
			if _, ok := defParams[m[1]]; !ok {
				t.Errorf("workflow%s: parameter %q is not declared in the definition", path, m[1])
			}
		}
	})
	triggers := obj(t, def, "triggers")
	if len(triggers) != 1 {
		t.Fatalf("%d triggers, want the Sentinel incident trigger", len(triggers))
	}
	for _, tr := range triggers {
		trig := tr.(map[string]any)
		in := obj(t, trig, "inputs")
		if str(trig["type"]) != "ApiConnectionWebhook" || str(in["path"]) != "/incident-creation" ||
			!strings.Contains(str(obj(t, in, "host", "connection")["name"]), "['azuresentinel']") ||
			str(obj(t, in, "body")["callback_url"]) != "@{listCallbackUrl()}" {
			t.Errorf("trigger %v is not Microsoft Sentinel's incident trigger", trig)
		}
	}
	actions := obj(t, def, "actions")
	var posts int
	for name, a := range actions {
		act := a.(map[string]any)
		if str(act["type"]) != "Http" {
			continue
		}
		posts++
		in := obj(t, act, "inputs")
		if str(in["method"]) != "POST" || str(in["uri"]) != "@parameters('pushUrl')" || str(in["body"]) != "@triggerBody()" {
			t.Errorf("action %s: %v; want POST @triggerBody() to @parameters('pushUrl')", name, in)
		}
		rp := obj(t, in, "retryPolicy")
		if n, _ := rp["count"].(float64); str(rp["type"]) != "exponential" || n < 3 {
			t.Errorf("action %s: retry policy %v; want exponential, several tries", name, rp)
		}
		if props, _ := obj(t, act, "runtimeConfiguration", "secureData")["properties"].([]any); !slices.Contains(props, any("inputs")) {
			t.Errorf("action %s: its inputs (the push URL) must be hidden from the run history", name)
		}
		if str(act["operationOptions"]) != "DisableAsyncPattern" {
			t.Errorf("action %s: a 202 from lastmile must end the action, not start polling", name)
		}
	}
	if posts != 1 {
		t.Fatalf("%d HTTP actions, want the one POST to lastmile", posts)
	}
	if d := obj(t, defParams, "pushUrl"); str(d["type"]) != "SecureString" {
		t.Error("the workflow's pushUrl parameter must be a SecureString")
	}
	wfParams := obj(t, wf, "properties", "parameters")
	if str(obj(t, wfParams, "pushUrl")["value"]) != "[parameters('pushUrl')]" {
		t.Error("the workflow's pushUrl is not the template's")
	}
	auth := obj(t, wfParams, "$connections", "value", "azuresentinel", "connectionProperties", "authentication")
	if str(auth["type"]) != "ManagedServiceIdentity" {
		t.Errorf("the Sentinel connection authenticates with %v, want ManagedServiceIdentity", auth)
	}

	// Sentinel's service principal may run the playbooks of the group.
	ras := resourcesOf(t, tpl, "Microsoft.Authorization/roleAssignments")
	if len(ras) != 1 {
		t.Fatalf("%d role assignments in the playbook's group, want Automation Contributor's", len(ras))
	}
	p := obj(t, ras[0], "properties")
	if str(vars["automationContributorRoleId"]) != "f4c81013-99ee-4d62-a7ee-b3f1f648599a" ||
		!strings.Contains(str(p["roleDefinitionId"]), "variables('automationContributorRoleId')") ||
		str(p["principalId"]) != "[parameters('azureSecurityInsightsObjectId')]" || str(p["principalType"]) != "ServicePrincipal" ||
		!strings.Contains(str(ras[0]["condition"]), "azureSecurityInsightsObjectId") {
		t.Errorf("automation contributor assignment %v", ras[0])
	}

	// The automation rule runs the playbook on every new incident.
	rules := resourcesOf(t, nested[0], "Microsoft.SecurityInsights/automationRules")
	if len(rules) != 1 {
		t.Fatalf("%d automation rules", len(rules))
	}
	rule := rules[0]
	logic := obj(t, rule, "properties", "triggeringLogic")
	if logic["isEnabled"] != true || str(logic["triggersOn"]) != "Incidents" || str(logic["triggersWhen"]) != "Created" ||
		!strings.Contains(str(rule["scope"]), "Microsoft.OperationalInsights/workspaces/") {
		t.Errorf("automation rule %v: want enabled, on incidents created, in the workspace", rule)
	}
	acts, _ := obj(t, rule, "properties")["actions"].([]any)
	if len(acts) != 1 || str(acts[0].(map[string]any)["actionType"]) != "RunPlaybook" ||
		str(obj(t, acts[0], "actionConfiguration")["logicAppResourceId"]) != "[parameters('logicAppResourceId')]" {
		t.Errorf("automation rule actions %v: want RunPlaybook of the playbook", acts)
	}
	deployments := resourcesOf(t, tpl, "Microsoft.Resources/deployments")
	if got := str(obj(t, deployments[0], "properties", "parameters", "logicAppResourceId")["value"]); got != "[resourceId('Microsoft.Logic/workflows', parameters('playbookName'))]" {
		t.Errorf("the rule runs %s, not the playbook deployed", got)
	}
	for _, ra := range resourcesOf(t, nested[0], "Microsoft.Authorization/roleAssignments") {
		if p := obj(t, ra, "properties"); str(p["principalType"]) != "ServicePrincipal" || !strings.Contains(str(ra["scope"]), "workspaces/") {
			t.Errorf("playbook identity's assignment %v: want a service principal, on the workspace", ra)
		}
	}
}

// setupValues are the string literals of package azuresetup (what
// `lastmile azure setup` names and tags things), when it is there.
func setupValues(t *testing.T) map[string]bool {
	t.Helper()
	dir := filepath.Join("..", "..", "internal", "azuresetup")
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil || len(pkgs) == 0 {
		t.Skipf("no package azuresetup to compare with (%v)", err)
	}
	out := map[string]bool{}
	for _, p := range pkgs {
		ast.Inspect(p, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out[s] = true
				}
			}
			return true
		})
	}
	return out
}

// The objects the templates and the script make are named and tagged as
// `lastmile azure setup` names and tags them, so it finds them as its own.
var sameAsSetup = []string{
	"lastmile Sentinel connector", "lastmile-setup", "SIGNL4_CL", "Custom-SIGNL4_CL", "lastmile-signl4-dcr",
	"lastmile-app", "lastmile-created-table", "Direct", "source", "workspace",
	"3e150937-b8fe-4cfb-8069-0eaf05ecd056", "ab8e14d6-4a74-4a29-9ba8-549422addade", "73c42c96-874c-492b-b04d-ab87d138a893",
	"3913510d-42f4-4e42-8a64-420c390055eb",
	"34bf0e97-1971-4929-b999-9e2442d941d7", "ed4fca05-be46-441f-9803-1873825f8fdb", "d903a879-88e0-4c09-b0c9-82f6a1333f84",
}

// logColumns are the lifecycle table's columns, in order.
var logColumns = []string{"TimeGenerated", "EventType", "AlertId", "AlertTitle", "IncidentId", "User", "UserEmail", "Text", "Source"}

func TestSameObjectsAsAzureSetup(t *testing.T) {
	main, script := read(t, "main.bicep"), read(t, "setup.sh")
	var bicepCols, scriptCols []string
	for _, m := range regexp.MustCompile(`\{ name: '(\w+)', type: '\w+' \}`).FindAllStringSubmatch(main, -1) {
		bicepCols = append(bicepCols, m[1])
	}
	for _, m := range regexp.MustCompile(`(\w+)=(?:datetime|string)\b`).FindAllStringSubmatch(script, -1) {
		scriptCols = append(scriptCols, m[1])
	}
	if !slices.Equal(bicepCols, logColumns) || !slices.Equal(scriptCols, logColumns) {
		t.Errorf("table columns: main.bicep %v, setup.sh %v; want %v", bicepCols, scriptCols, logColumns)
	}
	have := setupValues(t)
	for _, v := range append(slices.Clone(sameAsSetup), logColumns...) {
		if !have[v] {
			t.Errorf("lastmile azure setup no longer uses %q: update deploy/azure (main.bicep, app.bicep, setup.sh) and this list", v)
		}
	}
}

// bicepParams lists a Bicep file's parameters.
func bicepParams(text string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^param (\w+) `).FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestBicepFiles(t *testing.T) {
	main, app := read(t, "main.bicep"), read(t, "app.bicep")
	knownGUIDs(t, "main.bicep", main)
	knownGUIDs(t, "app.bicep", app)
	for file, text := range map[string]string{"main.bicep": main, "app.bicep": app} {
		for _, p := range bicepParams(text) {
			if n := len(regexp.MustCompile(`\b`+p+`\b`).FindAllString(text, -1)); n < 2 {
				t.Errorf("%s: parameter %s is never used", file, p)
			}
		}
		if strings.Count(text, "{") != strings.Count(text, "}") || strings.Count(text, "[") != strings.Count(text, "]") {
			t.Errorf("%s: unbalanced braces or brackets", file)
		}
	}
	// Role assignments: service principals, on the workspace or the rule,
	// never the subscription.
	if n, m := strings.Count(main, "'Microsoft.Authorization/roleAssignments@"), strings.Count(main, "principalType: 'ServicePrincipal'"); n != 3 || m != n {
		t.Errorf("main.bicep: %d role assignments, %d for service principals; want 3 and 3", n, m)
	}
	if strings.Contains(main, "scope: subscription()") || !strings.Contains(main, "scope: ws\n") || !strings.Contains(main, "scope: dcr\n") {
		t.Error("main.bicep: roles must be assigned on the workspace and the rule only")
	}
	for _, v := range []string{"kind: 'Direct'", "'lastmile-setup': 'true'", "'lastmile-app': clientId", "'lastmile-created-table':",
		"var logTable = 'SIGNL4_CL'", "var logStream = 'Custom-SIGNL4_CL'", "var dcrName = 'lastmile-signl4-dcr'", "output workspaceId string",
		"output logsIngestionEndpoint string", "output dcrImmutableId string", "targetScope = 'resourceGroup'"} {
		if !strings.Contains(main, v) {
			t.Errorf("main.bicep lacks %s", v)
		}
	}
	if !regexp.MustCompile(`(?m)^extension microsoftGraphV1$`).MatchString(app) {
		t.Error("app.bicep: the Microsoft Graph Bicep extension (extension microsoftGraphV1) is missing")
	}
	for _, v := range []string{"'Microsoft.Graph/applications@v1.0'", "'Microsoft.Graph/servicePrincipals@v1.0'", "'Microsoft.Graph/appRoleAssignedTo@v1.0'",
		"uniqueName: uniqueName", "'lastmile-setup'", "param appName string = 'lastmile Sentinel connector'", "output spObjectId string", "output clientId string"} {
		if !strings.Contains(app, v) {
			t.Errorf("app.bicep lacks %s", v)
		}
	}
	var cfg struct {
		Extensions map[string]string `json:"extensions"`
	}
	if err := json.Unmarshal([]byte(read(t, "bicepconfig.json")), &cfg); err != nil {
		t.Fatalf("bicepconfig.json: %v", err)
	}
	if !strings.HasPrefix(cfg.Extensions["microsoftGraphV1"], "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:") {
		t.Errorf("bicepconfig.json: microsoftGraphV1 is %q", cfg.Extensions["microsoftGraphV1"])
	}
}

func TestSetupScriptParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	if out, err := exec.Command(bash, "-n", "setup.sh").CombinedOutput(); err != nil {
		t.Fatalf("bash -n setup.sh: %v\n%s", err, out)
	}
	if !strings.Contains(read(t, "setup.sh"), "\nset -euo pipefail\n") {
		t.Error("setup.sh must stop at the first failure: set -euo pipefail")
	}
}

// fakeAz is an Azure CLI that logs each call and answers as a fresh tenant
// would; AZ_DENY_GRANT makes Graph refuse app role grants.
const fakeAz = `#!/usr/bin/env bash
printf '%s\n' "$*" >>"$AZ_LOG"
args="$*"
for a in "$@"; do
	case $a in @*) cat "${a#@}" >>"$AZ_LOG.body" ;; esac
done
case $args in
"account show --query tenantId -o tsv") echo 11111111-1111-1111-1111-111111111111 ;;
"account show --query id -o tsv") echo 22222222-2222-2222-2222-222222222222 ;;
"cloud show --query endpoints.resourceManager -o tsv") echo https://management.azure.com/ ;;
"cloud show --query endpoints.microsoftGraphResourceId -o tsv") echo https://graph.microsoft.com/ ;;
"monitor log-analytics workspace show "*"--query id -o tsv") echo /subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-ws ;;
"monitor log-analytics workspace show "*"--query customerId -o tsv") echo 33333333-3333-3333-3333-333333333333 ;;
"monitor log-analytics workspace show "*"--query location -o tsv") echo westeurope ;;
"monitor log-analytics workspace table show "*) exit 3 ;;
"monitor log-analytics workspace table create "*) ;;
"ad app list "*) ;;
"ad app create "*) echo 44444444-4444-4444-4444-444444444444 ;;
"ad app show "*"--query id -o tsv") echo 55555555-5555-5555-5555-555555555555 ;;
"ad app show "*) ;;
"ad app credential list "*) ;;
"ad app credential reset "*) echo the-new-secret ;;
"ad sp list "*) ;;
"ad sp create "*) echo 66666666-6666-6666-6666-666666666666 ;;
"ad sp show --id 00000003-0000-0000-c000-000000000000 "*) echo 77777777-7777-7777-7777-777777777777 ;;
"ad sp show "*) ;;
"rest --method PATCH "*) ;;
"rest --method GET "*"appRoleAssignments"*) echo 0 ;;
"rest --method POST "*"appRoleAssignedTo"*)
	if [[ -n ${AZ_DENY_GRANT:-} ]]; then
		echo 'ERROR: Forbidden({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}})' >&2
		exit 1
	fi
	echo '{}' ;;
"role assignment create "*) ;;
"rest --method GET "*"dataCollectionRules"*"--query tags"*) exit 3 ;;
"rest --method PUT "*"dataCollectionRules"*) ;;
"rest --method GET "*"--query properties.endpoints.logsIngestion"*) echo https://lastmile-signl4-dcr-abcd.westeurope-1.ingest.monitor.azure.com ;;
"rest --method GET "*"--query properties.immutableId"*) echo dcr-00000000000000000000000000000001 ;;
*) echo "fake az: unexpected call: $args" >&2; exit 9 ;;
esac
`

type azRun struct {
	stdout, stderr string
	calls          []string
	body           string // what the script sent with --body @file
}

func runSetup(t *testing.T, env []string, args ...string) azRun {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(fakeAz), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "az.log")
	cmd := exec.Command(bash, append([]string{"setup.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "AZ_LOG="+log)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("setup.sh %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	calls, _ := os.ReadFile(log)
	body, _ := os.ReadFile(log + ".body")
	return azRun{stdout: stdout.String(), stderr: stderr.String(), calls: strings.Split(strings.TrimSpace(string(calls)), "\n"), body: string(body)}
}

func (r azRun) called(prefix string) []string {
	var out []string
	for _, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func TestSetupScriptSentinelWithLifecycleLog(t *testing.T) {
	r := runSetup(t, nil, "--resource-group", "soc-rg", "--workspace", "soc-ws", "--lifecycle-log")
	for _, want := range []string{
		"Tenant ID:        11111111-1111-1111-1111-111111111111",
		"Subscription ID:  22222222-2222-2222-2222-222222222222",
		"Client ID:        44444444-4444-4444-4444-444444444444",
		"Client secret:    the-new-secret",
		"Resource group:   soc-rg",
		"Workspace name:   soc-ws",
		"Workspace ID:     33333333-3333-3333-3333-333333333333",
		"Logs ingestion:   https://lastmile-signl4-dcr-abcd.westeurope-1.ingest.monitor.azure.com",
		"DCR immutable id: dcr-00000000000000000000000000000001",
		"Stream:           Custom-SIGNL4_CL",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	ws := "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-ws"
	dcr := "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/soc-rg/providers/Microsoft.Insights/dataCollectionRules/lastmile-signl4-dcr"
	sp := "66666666-6666-6666-6666-666666666666"
	var got []string
	for _, c := range r.called("role assignment create ") {
		got = append(got, c)
	}
	want := []string{
		"role assignment create --assignee-object-id " + sp + " --assignee-principal-type ServicePrincipal --role 3e150937-b8fe-4cfb-8069-0eaf05ecd056 --scope " + ws + " --only-show-errors -o none",
		"role assignment create --assignee-object-id " + sp + " --assignee-principal-type ServicePrincipal --role 73c42c96-874c-492b-b04d-ab87d138a893 --scope " + ws + " --only-show-errors -o none",
		"role assignment create --assignee-object-id " + sp + " --assignee-principal-type ServicePrincipal --role 3913510d-42f4-4e42-8a64-420c390055eb --scope " + dcr + " --only-show-errors -o none",
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("role assignments:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if g := r.called("rest --method POST "); len(g) != 0 {
		t.Errorf("sentinel mode granted Graph permissions: %v", g)
	}
	patch := r.called("rest --method PATCH --uri https://graph.microsoft.com/v1.0/applications/55555555-5555-5555-5555-555555555555 ")
	if len(patch) != 1 || !strings.Contains(patch[0], `"tags":["lastmile-setup"]`) || !strings.Contains(patch[0], `"requiredResourceAccess":[]`) {
		t.Errorf("app patch %v: want the setup tag and no Graph permissions", patch)
	}
	if c := r.called("ad app credential reset "); len(c) != 1 || !strings.Contains(c[0], "--display-name lastmile-setup") || !strings.Contains(c[0], "--append") {
		t.Errorf("secret %v: want one named lastmile-setup, appended", c)
	}
	if c := r.called("monitor log-analytics workspace table create "); len(c) != 1 || !strings.Contains(c[0], "-n SIGNL4_CL") {
		t.Errorf("table %v", c)
	}

	// The rule is what lastmile azure setup makes.
	var rule struct {
		Location   string            `json:"location"`
		Kind       string            `json:"kind"`
		Tags       map[string]string `json:"tags"`
		Properties struct {
			StreamDeclarations map[string]struct {
				Columns []struct{ Name, Type string } `json:"columns"`
			} `json:"streamDeclarations"`
			Destinations struct {
				LogAnalytics []struct{ WorkspaceResourceID, Name string } `json:"logAnalytics"`
			} `json:"destinations"`
			DataFlows []struct {
				Streams, Destinations []string
				TransformKql          string `json:"transformKql"`
				OutputStream          string `json:"outputStream"`
			} `json:"dataFlows"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(r.body), &rule); err != nil {
		t.Fatalf("rule body: %v\n%s", err, r.body)
	}
	cols := rule.Properties.StreamDeclarations["Custom-SIGNL4_CL"].Columns
	p := rule.Properties
	if rule.Kind != "Direct" || rule.Location != "westeurope" || rule.Tags["lastmile-setup"] != "true" || rule.Tags["lastmile-app"] != "44444444-4444-4444-4444-444444444444" ||
		rule.Tags["lastmile-created-table"] != "true" || len(cols) != 9 || cols[0].Name != "TimeGenerated" || cols[0].Type != "datetime" ||
		len(p.Destinations.LogAnalytics) != 1 || p.Destinations.LogAnalytics[0].WorkspaceResourceID != ws || len(p.DataFlows) != 1 ||
		p.DataFlows[0].OutputStream != "Custom-SIGNL4_CL" || p.DataFlows[0].Destinations[0] != p.Destinations.LogAnalytics[0].Name {
		t.Errorf("rule %s", r.body)
	}
}

func TestSetupScriptGraphModeWithoutConsentRights(t *testing.T) {
	r := runSetup(t, []string{"AZ_DENY_GRANT=1"}, "--resource-group", "soc-rg", "--workspace", "soc-ws", "--mode", "graph_incidents")
	if !strings.Contains(r.stderr, "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/adminconsent?client_id=44444444-4444-4444-4444-444444444444") {
		t.Errorf("no consent link:\n%s", r.stderr)
	}
	if g := r.called("rest --method POST "); len(g) != 1 || !strings.Contains(g[0], `"appRoleId":"34bf0e97-1971-4929-b999-9e2442d941d7"`) {
		t.Errorf("grants %v: want one try of SecurityIncident.ReadWrite.All, no retries once refused", g)
	}
	if g := r.called("role assignment create "); len(g) != 0 {
		t.Errorf("graph mode assigned Azure roles: %v", g)
	}
	patch := r.called("rest --method PATCH --uri https://graph.microsoft.com/v1.0/applications/")
	if len(patch) != 1 || !strings.Contains(patch[0], `"resourceAppId":"00000003-0000-0000-c000-000000000000","resourceAccess":[{"id":"34bf0e97-1971-4929-b999-9e2442d941d7","type":"Role"}]`) {
		t.Errorf("app patch %v: want SecurityIncident.ReadWrite.All declared", patch)
	}
	if !strings.Contains(r.stdout, "Client secret:    the-new-secret") {
		t.Errorf("output:\n%s", r.stdout)
	}
}

func TestSetupScriptRefusesBadArguments(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	for _, args := range [][]string{{}, {"--workspace", "ws"}, {"--resource-group", "rg", "--workspace", "ws", "--mode", "splunk"},
		{"--resource-group", "rg", "--workspace", "ws", "--secret-years", "x"}, {"--colour"}} {
		cmd := exec.Command(bash, append([]string{"setup.sh"}, args...)...)
		cmd.Env = append(os.Environ(), "AZ_LOG="+filepath.Join(t.TempDir(), "az.log"))
		// Refused before any az call (or the check for az).
		if out, err := cmd.CombinedOutput(); err == nil || strings.Contains(string(out), "Azure CLI") || !strings.Contains(string(out), "setup.sh") {
			t.Errorf("setup.sh %v: %v\n%s", args, err, out)
		}
	}
}
