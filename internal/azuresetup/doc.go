// Package azuresetup provisions the Azure identity the Sentinel / Microsoft
// Graph security connector signs in as: `lastmile azure setup`.
//
// It signs the admin in (device code, or a token from the environment or
// the Azure CLI), works out a plan (each object and role, why it is
// needed, and whether it will be created, is there already, or changes),
// and then applies it in order, idempotently:
//
//  1. an app registration named for lastmile, tagged "lastmile-setup",
//     declaring the mode's Microsoft Graph application permissions;
//  2. a client secret (only when none made by this tool is still valid)
//     or a certificate's public key;
//  3. its service principal;
//  4. admin consent for each Graph permission (an app role assignment to
//     Microsoft Graph's service principal); when the admin may not grant
//     it, the one admin-consent link to send to a Global Administrator;
//  5. Azure role assignments on the workspace (never the subscription):
//     Microsoft Sentinel Responder (or Contributor for labels) and Log
//     Analytics Reader, with deterministic names so reruns find them;
//  6. optionally the lifecycle log: the custom table SIGNL4_CL, a data
//     collection rule of kind Direct (tagged) and Monitoring Metrics
//     Publisher on it.
//
// Entra and ARM are eventually consistent: writes that depend on a new
// object are retried, and new objects are polled for until visible, with
// exponential backoff through an injectable sleep. At the end the new
// credential is tried: a client-credentials token for Graph must carry the
// granted roles, and a read of the workspace must succeed.
//
// No state is kept on disk. Everything the tool makes carries a name or
// tag it recognises, so Remove finds exactly that: the role assignments of
// its service principal, its data collection rule, the table (only when
// the rule's tags say the tool created it, and only when asked), then the
// app registration, which takes the service principal and its grants
// with it.
//
// The REST calls go through a small client of this package (http.go);
// tokens come from an azcore.TokenCredential.
package azuresetup
