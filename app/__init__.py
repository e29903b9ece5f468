"""The sample web app App Service runs: reads the AI key through its managed identity and Key Vault.

Public API: `app.key_client.KeyClient` / `CachedKey`, `app.ai_client.AiClient`,
`app.web.create_app` / `build_clients`, `app.settings.Settings`.
"""
