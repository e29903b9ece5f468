"""A ready-made world: one AI account, one vault holding its key, one web app reading it."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.identity import Identity
from emulator.services.app_service import ACTION_READ_SITE_CONFIG, ACTION_WRITE_SITE_CONFIG, Site
from emulator.services.arm_accounts import ACTION_LIST_KEYS, ROTATOR_ACTIONS, Account
from emulator.services.entra import GITHUB_OIDC_ISSUER, FederatedCredential
from emulator.services.keyvault import SecretVersion, Vault
from emulator.state import AzureState

DEFAULT_ACCOUNT = "ai-secure-demo"
DEFAULT_VAULT = "kv-secure-demo"
DEFAULT_SECRET = "ai-api-key"
DEFAULT_SITE = "app-secure-demo"
DEFAULT_DEPLOYMENT = "gpt-4o-mini"
DEFAULT_ROTATOR = "id-key-rotator"
REFERENCE_SETTING = "AZURE_AI_API_KEY"


@dataclass
class World:
    """The names and objects :func:`seed_world` created."""

    state: AzureState
    account: Account
    vault: Vault
    secret_name: str
    secret: SecretVersion
    site: Site
    rotator: Identity
    deployment: str
    deployer: Identity | None = None
    github_job_token: str | None = None

    @property
    def vault_url(self) -> str:
        return self.vault.uri

    @property
    def endpoint(self) -> str:
        return self.account.endpoint

    @property
    def secret_uri(self) -> str:
        return f"{self.vault.uri}secrets/{self.secret_name}"


def seed_world(
    state: AzureState,
    *,
    account: str = DEFAULT_ACCOUNT,
    vault: str = DEFAULT_VAULT,
    secret: str = DEFAULT_SECRET,
    site: str = DEFAULT_SITE,
    deployment: str = DEFAULT_DEPLOYMENT,
    rotator: str = DEFAULT_ROTATOR,
    accept_delay: float = 0.0,
    keyless: bool = False,
    secret_tags: dict[str, str] | None = None,
    github_subject: str | None = None,
) -> World:
    """Create the project's topology with least-privilege grants, as the Pulumi program would.

    - the account (kind OpenAI, one deployment) with two synthetic keys;
    - the vault with ``secret`` = key1 (content type text/plain, tags ``secret_tags`` or
      ``{"CredentialId": "key1"}``, as the stack writes it);
    - the site with app settings AZURE_AI_ENDPOINT, AZURE_AI_DEPLOYMENT, KEY_VAULT_URI,
      AZURE_AI_KEY_SECRET_NAME and AZURE_AI_API_KEY = a versionless Key Vault reference, its
      identity holding "Key Vault Secrets User" on that one secret;
    - a user-assigned identity ``rotator`` with read/listKeys/regenerateKey on the account,
      "Key Vault Secrets Officer" on the secret and config read/write on the site.

    ``github_subject`` adds a GitHub Actions job with ``id-token: write`` whose OIDC tokens have
    that subject, and the app registration it deploys as (federated credential for that subject,
    "Key Vault Secrets Officer" on the vault and ``listKeys`` on the account, as the stack grants
    its deployer).

    ``keyless=True`` disables local auth on the account, grants the site identity "Cognitive
    Services OpenAI User" on it and leaves AZURE_AI_API_KEY out of the settings.
    """
    acct = state.add_account(
        account, deployments=(deployment,), accept_delay=accept_delay, disable_local_auth=keyless
    )
    kv = state.add_vault(vault)
    version = state.set_secret(
        vault,
        secret,
        state.keys(account)["key1"],
        content_type="text/plain",
        tags=dict(secret_tags) if secret_tags is not None else {"CredentialId": "key1"},
    )
    settings = {
        "AZURE_AI_ENDPOINT": acct.endpoint,
        "AZURE_AI_DEPLOYMENT": deployment,
        "KEY_VAULT_URI": kv.uri,
        "AZURE_AI_KEY_SECRET_NAME": secret,
    }
    if keyless:
        settings["AZURE_AI_AUTH_MODE"] = "keyless"
    else:
        settings[REFERENCE_SETTING] = f"@Microsoft.KeyVault(SecretUri={kv.uri}secrets/{secret})"
    web = state.add_site(site)
    state.grant(web, kv.secret_id(secret), "Key Vault Secrets User")
    if keyless:
        state.grant(web, acct.id, "Cognitive Services OpenAI User")
    # Settings arrive after the role assignment (as the program orders them), so they resolve.
    state.set_app_settings(site, settings)
    rotator_identity = state.add_identity(rotator)
    state.grant(rotator_identity, acct.id, actions=ROTATOR_ACTIONS)
    state.grant(rotator_identity, kv.secret_id(secret), "Key Vault Secrets Officer")
    state.grant(
        rotator_identity, web.id, actions=(ACTION_READ_SITE_CONFIG, ACTION_WRITE_SITE_CONFIG)
    )
    deployer, job_token = None, None
    if github_subject is not None:
        deployer = state.add_federated_principal(
            "id-github-deploy", FederatedCredential(GITHUB_OIDC_ISSUER, github_subject)
        )
        state.grant(deployer, kv.id, "Key Vault Secrets Officer")
        state.grant(deployer, acct.id, actions=(ACTION_LIST_KEYS,))
        job_token = state.add_github_job(github_subject)
    return World(
        state=state,
        account=acct,
        vault=kv,
        secret_name=secret,
        secret=version,
        site=web,
        rotator=rotator_identity,
        deployment=deployment,
        deployer=deployer,
        github_job_token=job_token,
    )
