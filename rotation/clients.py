"""Former home of the rotation's Connection, now azure_edge.clients.Connection; kept only until
every importer builds a rotation's edges with rotation.engine.Edges.connect."""

from __future__ import annotations

from azure_edge import clients
from azure_edge.retry import Waiter
from azure_edge.sites import ConsumerSites
from azure_edge.vault import VaultSecrets
from rotation.engine import Edges, consumer_sites
from rotation.target import Target


class Connection(clients.Connection):
    def edges(
        self, target: Target, vault: VaultSecrets, *, probe_waiter: Waiter, confirm_waiter: Waiter
    ) -> Edges:
        return Edges.connect(
            self, target, vault, probe_waiter=probe_waiter, confirm_waiter=confirm_waiter
        )

    def consumers(self, target: Target, vault: VaultSecrets, waiter: Waiter) -> ConsumerSites:
        return consumer_sites(self, target, vault, waiter)
