"""App Service instances: ARM lists them (`GET {siteId}/instances`, azure-mgmt-web
`web_apps.list_instance_identifiers`), and the front end routes a request to the instance its
ARRAffinity cookie names, else to the instances in turn."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.web import WebSiteManagementClient

import emulator

pytestmark = pytest.mark.usefixtures("site_env")


def _web(world: emulator.World) -> WebSiteManagementClient:
    credential = emulator.managed_identity_credential(world.state, world.rotator)
    return WebSiteManagementClient(
        credential, world.state.subscription, transport=emulator.transport(world.state)
    )


def _named(name: str):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [name.encode()]

    return app


def test_instances_are_listed_and_each_is_reached_by_its_affinity_cookie(world):
    state = world.state
    instances = state.scale_out(world.site.name, 3)
    state.grant(world.rotator, world.site.id, actions=("Microsoft.Web/sites/instances/read",))
    listed = list(
        _web(world).web_apps.list_instance_identifiers(state.resource_group, world.site.name)
    )
    assert [i.name for i in listed] == instances
    assert [i.id for i in listed] == [f"{world.site.id}/instances/{i}" for i in instances]
    for index, instance in enumerate(instances):
        state.mount(world.site.name, _named(f"instance-{index}"), instance=instance)
    session = emulator.session(state)
    url = f"https://{world.site.host}/"
    for index, instance in enumerate(instances):
        answer = session.get(url, cookies={"ARRAffinity": instance}).text
        assert answer == f"instance-{index}"
    # No cookie, or one naming no instance: the instances in turn.
    answers = [session.get(url).text for _ in range(3)]
    assert sorted(answers) == ["instance-0", "instance-1", "instance-2"]
    assert session.get(url, cookies={"ARRAffinity": "0" * 64}).status_code == 200


def test_listing_instances_needs_the_instances_read_action(world):
    with pytest.raises(HttpResponseError) as raised:
        list(
            _web(world).web_apps.list_instance_identifiers(
                world.state.resource_group, world.site.name
            )
        )
    assert (raised.value.status_code, raised.value.error.code) == (403, "AuthorizationFailed")


def test_scale_out_bounds(world):
    with pytest.raises(emulator.EmulatorError):
        world.state.scale_out(world.site.name, 0)
    assert len(world.state.scale_out(world.site.name, 1)) == 1
