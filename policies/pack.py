"""The pack's contents: every policy, in report order. Importing this builds no server."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from policies.rules import (
    ai_account_disables_local_auth_when_keyless,
    ai_account_has_custom_subdomain,
    ai_account_has_private_endpoint,
    ai_account_restricts_outbound_access,
    ai_account_restricts_public_network,
    ai_account_sends_diagnostic_logs,
    ai_account_uses_managed_identity,
    app_settings_use_key_vault_references,
    data_roles_scoped_to_one_resource,
    key_vault_disables_platform_access,
    key_vault_has_private_endpoint,
    key_vault_has_purge_protection,
    key_vault_has_soft_delete,
    key_vault_restricts_public_network,
    key_vault_secret_expires,
    key_vault_secret_expiry_within_rotation,
    key_vault_secret_has_content_type,
    key_vault_secret_value_stays_out_of_state,
    key_vault_sends_audit_logs,
    key_vault_uses_rbac,
    network_rules_exclude_the_internet,
    no_hardcoded_secrets,
    private_services_disable_public_access,
    role_assignments_least_privilege,
    secrets_user_scoped_to_secret,
    stack_outputs_hold_no_credential,
    web_app_can_read_its_key_vault_references,
    web_app_cors_names_its_origins,
    web_app_disables_basic_auth_publishing,
    web_app_disables_ftp,
    web_app_disables_remote_debugging,
    web_app_https_only,
    web_app_requires_tls_1_2,
    web_app_routes_outbound_through_vnet,
    web_app_uses_managed_identity,
)

PACK_NAME = "secure-azure-ai"
PACK_DESCRIPTION = (
    "Secure defaults for an Azure AI account whose key lives only in Key Vault and is read by "
    "App Service managed identities."
)
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY

POLICIES: list[Policy] = [
    module.POLICY
    for module in (
        no_hardcoded_secrets,
        stack_outputs_hold_no_credential,
        app_settings_use_key_vault_references,
        key_vault_uses_rbac,
        key_vault_has_soft_delete,
        key_vault_has_purge_protection,
        key_vault_disables_platform_access,
        key_vault_sends_audit_logs,
        key_vault_restricts_public_network,
        key_vault_secret_expires,
        key_vault_secret_expiry_within_rotation,
        key_vault_secret_has_content_type,
        key_vault_secret_value_stays_out_of_state,
        web_app_uses_managed_identity,
        web_app_https_only,
        web_app_requires_tls_1_2,
        web_app_disables_ftp,
        web_app_disables_remote_debugging,
        web_app_disables_basic_auth_publishing,
        web_app_cors_names_its_origins,
        ai_account_has_custom_subdomain,
        ai_account_uses_managed_identity,
        ai_account_disables_local_auth_when_keyless,
        ai_account_restricts_public_network,
        network_rules_exclude_the_internet,
        ai_account_restricts_outbound_access,
        ai_account_sends_diagnostic_logs,
        role_assignments_least_privilege,
        data_roles_scoped_to_one_resource,
        secrets_user_scoped_to_secret,
        web_app_can_read_its_key_vault_references,
        ai_account_has_private_endpoint,
        key_vault_has_private_endpoint,
        private_services_disable_public_access,
        web_app_routes_outbound_through_vnet,
    )
]
