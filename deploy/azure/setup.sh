#!/usr/bin/env bash
# lastmile: provision the Sentinel / Microsoft Graph security connector's
# Azure identity with the Azure CLI, for admins who must go through their
# own tooling instead of `lastmile azure setup`. It makes the same objects:
#
#   - the app registration "lastmile Sentinel connector" (tag lastmile-setup),
#     declaring the Microsoft Graph application permissions the mode needs;
#   - a client secret named lastmile-setup (only when none is still valid);
#   - its service principal (tag lastmile-setup);
#   - admin consent for those permissions (app role assignments to Microsoft
#     Graph), or the consent link for a Global Administrator;
#   - role assignments on the workspace, never the subscription: Microsoft
#     Sentinel Responder (Contributor with --labels) in sentinel mode, Log
#     Analytics Reader for augmentation;
#   - with --lifecycle-log: the table SIGNL4_CL, the data collection rule
#     lastmile-signl4-dcr (kind Direct, tagged) and Monitoring Metrics
#     Publisher on it.
#
# Every step looks first and changes only what is missing, so running it
# again changes nothing (except a new secret with --new-secret). It ends by
# printing the tenant id, subscription id, client id and client secret,
# with the resource group and workspace. See deploy/azure/README.md.
#
# Needs: bash 4, the Azure CLI signed in (az login) as someone who may
# create app registrations and role assignments on the workspace; for the
# Graph permissions of the graph_* modes, a Privileged Role Administrator
# or Global Administrator.
set -euo pipefail

readonly GRAPH_APP_ID=00000003-0000-0000-c000-000000000000
# Built-in Azure roles (their GUIDs are the same in every tenant).
readonly ROLE_SENTINEL_RESPONDER=3e150937-b8fe-4cfb-8069-0eaf05ecd056
readonly ROLE_SENTINEL_CONTRIBUTOR=ab8e14d6-4a74-4a29-9ba8-549422addade
readonly ROLE_LOG_ANALYTICS_READER=73c42c96-874c-492b-b04d-ab87d138a893
readonly ROLE_METRICS_PUBLISHER=3913510d-42f4-4e42-8a64-420c390055eb
# Microsoft Graph application permissions (app role ids).
readonly PERM_INCIDENT_RW=34bf0e97-1971-4929-b999-9e2442d941d7 # SecurityIncident.ReadWrite.All
readonly PERM_ALERT_RW=ed4fca05-be46-441f-9803-1873825f8fdb    # SecurityAlert.ReadWrite.All
readonly PERM_EVENTS_RW=d903a879-88e0-4c09-b0c9-82f6a1333f84   # SecurityEvents.ReadWrite.All
# What lastmile azure setup names and tags its objects.
readonly SETUP_TAG=lastmile-setup
readonly SECRET_NAME=lastmile-setup
readonly LOG_TABLE=SIGNL4_CL
readonly LOG_STREAM=Custom-SIGNL4_CL
readonly DCR_NAME=lastmile-signl4-dcr
readonly LOG_COLUMNS=(TimeGenerated=datetime EventType=string AlertId=string AlertTitle=string IncidentId=string User=string UserEmail=string Text=string Source=string)

usage() {
	cat <<'USAGE'
Usage: setup.sh --resource-group RG --workspace NAME [options]

  --resource-group RG    the Sentinel workspace's resource group (required)
  --workspace NAME       the Sentinel (Log Analytics) workspace (required)
  --subscription SUB     the workspace's subscription (default: az account's)
  --mode MODE            sentinel (default), graph_incidents, graph_alerts, graph_legacy
  --app-name NAME        the app registration's name (default "lastmile Sentinel connector")
  --labels               Microsoft Sentinel Contributor instead of Responder (the SIGNL4 label)
  --augment              Log Analytics Reader (default in sentinel mode)
  --no-augment           no Log Analytics Reader
  --lifecycle-log        table SIGNL4_CL, the Direct data collection rule, Monitoring Metrics Publisher
  --secret-years N       lifetime of a new client secret (default 1)
  --new-secret           add a secret even when one made by this script is still valid
  -h, --help             this text
USAGE
}

die() {
	echo "setup.sh: $*" >&2
	exit 1
}
say() { echo "• $*" >&2; }

RG="" WS="" SUB="" MODE=sentinel APP_NAME="lastmile Sentinel connector" LABELS=false AUGMENT="" LOG=false YEARS=1 NEW_SECRET=false
while (($#)); do
	case $1 in
	--resource-group) RG=${2:?--resource-group needs a value} && shift ;;
	--workspace) WS=${2:?--workspace needs a value} && shift ;;
	--subscription) SUB=${2:?--subscription needs a value} && shift ;;
	--mode) MODE=${2:?--mode needs a value} && shift ;;
	--app-name) APP_NAME=${2:?--app-name needs a value} && shift ;;
	--labels) LABELS=true ;;
	--augment) AUGMENT=true ;;
	--no-augment) AUGMENT=false ;;
	--lifecycle-log) LOG=true ;;
	--secret-years) YEARS=${2:?--secret-years needs a value} && shift ;;
	--new-secret) NEW_SECRET=true ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
	shift
done
[[ -n $RG && -n $WS ]] || {
	usage >&2
	exit 2
}
[[ $YEARS =~ ^[1-9][0-9]?$ ]] || die "--secret-years must be a whole number of years"
PERMS=()
case $MODE in
sentinel) ;;
graph_incidents) PERMS=("$PERM_INCIDENT_RW") ;;
graph_alerts) PERMS=("$PERM_ALERT_RW" "$PERM_INCIDENT_RW") ;;
graph_legacy) PERMS=("$PERM_EVENTS_RW") ;;
*) die "--mode must be sentinel, graph_incidents, graph_alerts or graph_legacy" ;;
esac
[[ -n $AUGMENT ]] || { [[ $MODE == sentinel ]] && AUGMENT=true || AUGMENT=false; }

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is needed, signed in with az login"

# json_string quotes a value for a JSON body.
json_string() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# retry runs a command until it succeeds, for objects Entra and ARM have
# not replicated yet: 2, 4, 8 … seconds apart, at most 30, 10 tries.
retry() {
	local try=1 wait
	until "$@"; do
		((try < 10)) || return 1
		wait=$((2 ** try))
		((wait > 30)) && wait=30
		say "not there yet; trying again in ${wait}s"
		sleep "$wait"
		try=$((try + 1))
	done
}

# with_tag prints a JSON array of the tags read (one a line) plus the setup tag.
with_tag() {
	local out="" t seen=false
	while IFS= read -r t; do
		[[ -z $t ]] && continue
		[[ $t == "$SETUP_TAG" ]] && seen=true
		out+="$(json_string "$t"),"
	done
	$seen || out+="$(json_string "$SETUP_TAG"),"
	printf '[%s]' "${out%,}"
}

if [[ -n $SUB ]]; then
	az account set --subscription "$SUB"
fi
TENANT_ID=$(az account show --query tenantId -o tsv)
SUB_ID=$(az account show --query id -o tsv)
ARM=$(az cloud show --query endpoints.resourceManager -o tsv)
ARM=${ARM%/}
GRAPH=$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv)
GRAPH=${GRAPH%/}/v1.0
say "tenant $TENANT_ID, subscription $SUB_ID, mode $MODE"

WS_ID=$(az monitor log-analytics workspace show -g "$RG" -n "$WS" --query id -o tsv) ||
	die "workspace $WS not found in resource group $RG of subscription $SUB_ID"
WS_CUSTOMER_ID=$(az monitor log-analytics workspace show -g "$RG" -n "$WS" --query customerId -o tsv)
WS_LOCATION=$(az monitor log-analytics workspace show -g "$RG" -n "$WS" --query location -o tsv)

# 1. The app registration: the one this tool tagged, else one of that name.
NAME_FILTER="displayName eq '${APP_NAME//\'/\'\'}'"
APP_ID=$(az ad app list --filter "$NAME_FILTER" --query "[?contains(tags, '$SETUP_TAG')].appId | [0]" -o tsv)
[[ -n $APP_ID ]] || APP_ID=$(az ad app list --filter "$NAME_FILTER" --query "[0].appId" -o tsv)
if [[ -z $APP_ID ]]; then
	APP_ID=$(az ad app create --display-name "$APP_NAME" --sign-in-audience AzureADMyOrg --query appId -o tsv)
	say "created app registration \"$APP_NAME\" ($APP_ID)"
else
	say "app registration \"$APP_NAME\" ($APP_ID) is there"
fi
APP_OBJECT_ID=$(retry az ad app show --id "$APP_ID" --query id -o tsv)
ACCESS="[]"
if ((${#PERMS[@]})); then
	ROLES=""
	for p in "${PERMS[@]}"; do ROLES+="{\"id\":\"$p\",\"type\":\"Role\"},"; done
	ACCESS="[{\"resourceAppId\":\"$GRAPH_APP_ID\",\"resourceAccess\":[${ROLES%,}]}]"
fi
TAGS=$(az ad app show --id "$APP_ID" --query "tags[]" -o tsv | with_tag)
NOTES="Created by deploy/azure/setup.sh for the lastmile Microsoft Sentinel / Graph security connector (mode $MODE). lastmile azure setup --remove --app-name \"$APP_NAME\" removes it and everything it was given."
az rest --method PATCH --uri "$GRAPH/applications/$APP_OBJECT_ID" --headers Content-Type=application/json \
	--body "{\"tags\":$TAGS,\"notes\":$(json_string "$NOTES"),\"requiredResourceAccess\":$ACCESS}" >/dev/null

# 2. A client secret, unless one made by this script is still valid.
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
HAVE_SECRET=false
while IFS= read -r end; do
	[[ -n $end && ${end:0:19} > $NOW ]] && HAVE_SECRET=true
done < <(az ad app credential list --id "$APP_ID" --query "[?displayName=='$SECRET_NAME'].endDateTime" -o tsv)
if $NEW_SECRET || ! $HAVE_SECRET; then
	SECRET=$(az ad app credential reset --id "$APP_ID" --display-name "$SECRET_NAME" --years "$YEARS" --append --query password -o tsv)
	say "added client secret $SECRET_NAME ($YEARS year(s))"
else
	SECRET="(unchanged: the secret $SECRET_NAME made earlier is still valid; --new-secret adds another)"
	say "client secret $SECRET_NAME is there and valid"
fi

# 3. The service principal.
SP_ID=$(az ad sp list --filter "appId eq '$APP_ID'" --query "[0].id" -o tsv)
if [[ -z $SP_ID ]]; then
	SP_ID=$(retry az ad sp create --id "$APP_ID" --query id -o tsv) || die "could not create the service principal of $APP_ID"
	say "created service principal $SP_ID"
fi
SP_TAGS=$(az ad sp show --id "$SP_ID" --query "tags[]" -o tsv | with_tag)
az rest --method PATCH --uri "$GRAPH/servicePrincipals/$SP_ID" --headers Content-Type=application/json --body "{\"tags\":$SP_TAGS}" >/dev/null

# 4. Admin consent: one app role assignment to Microsoft Graph per permission.
CONSENT_NEEDED=false
if ((${#PERMS[@]})); then
	GRAPH_SP=$(az ad sp show --id "$GRAPH_APP_ID" --query id -o tsv)
	for p in "${PERMS[@]}"; do
		have=$(az rest --method GET --uri "$GRAPH/servicePrincipals/$SP_ID/appRoleAssignments" --query "length(value[?appRoleId=='$p'])" -o tsv)
		if [[ $have != 0 ]]; then
			say "Graph permission $p is granted"
			continue
		fi
		for try in 1 2 3 4 5 6 7 8; do
			if out=$(az rest --method POST --uri "$GRAPH/servicePrincipals/$GRAPH_SP/appRoleAssignedTo" --headers Content-Type=application/json \
				--body "{\"principalId\":\"$SP_ID\",\"resourceId\":\"$GRAPH_SP\",\"appRoleId\":\"$p\"}" 2>&1); then
				say "granted Graph permission $p"
				break
			fi
			case $out in
			*"already exists"*) break ;;
			*Authorization_RequestDenied* | *"Insufficient privileges"*)
				CONSENT_NEEDED=true
				break
				;;
			esac
			((try < 8)) || die "granting Graph permission $p failed: $out"
			sleep $((try * 4))
		done
	done
fi

# 5. Roles on the workspace, never the subscription.
assign() { # role-guid scope what
	local out try
	for try in 1 2 3 4 5 6 7 8; do
		if out=$(az role assignment create --assignee-object-id "$SP_ID" --assignee-principal-type ServicePrincipal \
			--role "$1" --scope "$2" --only-show-errors -o none 2>&1); then
			say "role $3 is assigned"
			return
		fi
		case $out in *"already exists"* | *RoleAssignmentExists*)
			say "role $3 is assigned"
			return
			;;
		esac
		((try < 8)) || die "assigning $3 failed: $out"
		sleep $((try * 4))
	done
}
if [[ $MODE == sentinel ]]; then
	if $LABELS; then
		assign "$ROLE_SENTINEL_CONTRIBUTOR" "$WS_ID" "Microsoft Sentinel Contributor on workspace $WS"
	else
		assign "$ROLE_SENTINEL_RESPONDER" "$WS_ID" "Microsoft Sentinel Responder on workspace $WS"
	fi
fi
if $AUGMENT; then
	assign "$ROLE_LOG_ANALYTICS_READER" "$WS_ID" "Log Analytics Reader on workspace $WS"
fi

# 6. The lifecycle log: table, Direct data collection rule, publisher role.
LOG_ENDPOINT="" DCR_IMMUTABLE_ID=""
if $LOG; then
	DCR_ID="/subscriptions/$SUB_ID/resourceGroups/$RG/providers/Microsoft.Insights/dataCollectionRules/$DCR_NAME"
	TABLE_CREATED=$(az rest --method GET --uri "$ARM$DCR_ID?api-version=2023-03-11" --query 'tags."lastmile-created-table"' -o tsv 2>/dev/null || true)
	[[ $TABLE_CREATED == [Tt]rue ]] && TABLE_CREATED=true || TABLE_CREATED=false
	if az monitor log-analytics workspace table show -g "$RG" --workspace-name "$WS" -n "$LOG_TABLE" -o none >/dev/null 2>&1; then
		say "table $LOG_TABLE is there"
	else
		az monitor log-analytics workspace table create -g "$RG" --workspace-name "$WS" -n "$LOG_TABLE" \
			--retention-time 30 --columns "${LOG_COLUMNS[@]}" -o none
		TABLE_CREATED=true
		say "created table $LOG_TABLE"
	fi
	COLUMNS_JSON=""
	for c in "${LOG_COLUMNS[@]}"; do COLUMNS_JSON+="{\"name\":\"${c%%=*}\",\"type\":\"${c#*=}\"},"; done
	BODY=$(mktemp)
	trap 'rm -f "$BODY"' EXIT
	cat >"$BODY" <<JSON
{
  "location": "$WS_LOCATION",
  "kind": "Direct",
  "tags": {"lastmile-setup": "true", "lastmile-app": "$APP_ID", "lastmile-created-table": "$TABLE_CREATED"},
  "properties": {
    "description": "lastmile alert lifecycle records (created by deploy/azure/setup.sh)",
    "streamDeclarations": {"$LOG_STREAM": {"columns": [${COLUMNS_JSON%,}]}},
    "destinations": {"logAnalytics": [{"workspaceResourceId": "$WS_ID", "name": "workspace"}]},
    "dataFlows": [{"streams": ["$LOG_STREAM"], "destinations": ["workspace"], "transformKql": "source", "outputStream": "$LOG_STREAM"}]
  }
}
JSON
	az rest --method PUT --uri "$ARM$DCR_ID?api-version=2023-03-11" --headers Content-Type=application/json --body "@$BODY" -o none
	LOG_ENDPOINT=$(az rest --method GET --uri "$ARM$DCR_ID?api-version=2023-03-11" --query properties.endpoints.logsIngestion -o tsv)
	DCR_IMMUTABLE_ID=$(az rest --method GET --uri "$ARM$DCR_ID?api-version=2023-03-11" --query properties.immutableId -o tsv)
	say "data collection rule $DCR_NAME is there ($DCR_IMMUTABLE_ID)"
	assign "$ROLE_METRICS_PUBLISHER" "$DCR_ID" "Monitoring Metrics Publisher on data collection rule $DCR_NAME"
fi

if $CONSENT_NEEDED; then
	echo >&2
	echo "You may not grant Microsoft Graph application permissions. Send this link to a Global Administrator" >&2
	echo "(or a Privileged Role Administrator), then run this script again:" >&2
	echo "  https://login.microsoftonline.com/$TENANT_ID/adminconsent?client_id=$APP_ID" >&2
fi

cat <<OUT

Tenant ID:        $TENANT_ID
Subscription ID:  $SUB_ID
Client ID:        $APP_ID
Client secret:    $SECRET
Resource group:   $RG
Workspace name:   $WS
Workspace ID:     $WS_CUSTOMER_ID
OUT
if $LOG; then
	cat <<OUT
Logs ingestion:   $LOG_ENDPOINT
DCR immutable id: $DCR_IMMUTABLE_ID
Stream:           $LOG_STREAM
OUT
fi
echo
echo "Enter these in lastmile (Connectors → Add, source $MODE), or POST them to /api/v1/teams/{team}/connectors."
echo "Role assignments can take a few minutes to apply: if the connector's test fails on a role, test again later."
