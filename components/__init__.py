"""Pulumi ComponentResources: what gets created in Azure, with the strictest defaults built in."""
