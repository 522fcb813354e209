"""The test harness itself: the real services start, answer and stop."""
import requests

from services import (  # noqa: F401
    keystone_stack, neutron_service, nova_deployment, placement_service)


def test_placement_answers(placement_service):
    root = requests.get(placement_service.url + "/", timeout=10).json()
    assert root["versions"][0]["max_version"] == "1.39"
    rp = placement_service.admin.compute_node()
    assert placement_service.admin.provider(rp)["uuid"] == rp


def test_nova_deployment_rows(nova_deployment, placement_service):
    nova = nova_deployment()
    nova.add_host("host1")
    nova.add_compute_node("host1", placement_service.admin.compute_node())
    assert nova.add_instance()


def test_neutron_port_with_resource_request(neutron_service):
    port = neutron_service.admin.create_port("dev-1")
    groups = port["resource_request"]["request_groups"]
    assert groups[0]["resources"] == {"NET_BW_EGR_KILOBIT_PER_SEC": 1000}
    assert port["resource_request"]["same_subtree"] == [groups[0]["id"]]


def test_keystone_catalog(keystone_stack):
    token, body = keystone_stack.token(
        "nova", keystone_stack.service_password, "service", body=True)
    types = {entry["type"] for entry in body["token"]["catalog"]}
    assert "placement" in types
    resp = requests.get(keystone_stack.placement.url + "/resource_providers",
                        headers={"X-Auth-Token": token}, timeout=10)
    assert resp.status_code == 200
    resp = requests.get(keystone_stack.placement.url + "/resource_providers",
                        headers={"X-Auth-Token": "bogus"}, timeout=10)
    assert resp.status_code == 401
