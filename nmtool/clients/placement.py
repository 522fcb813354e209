"""The Placement API calls nova-manage's placement commands make, at the
microversions nova 34.0.0 uses for each (report.py and manage.py)."""
from nmtool.clients.http import ServiceError, base_headers, error_text
from nmtool.clients.session import Session

LABEL = "Placement API"

CONSUMER_GENERATION = "1.28"     # GET/PUT /allocations/{consumer}, POST
AGGREGATE_GENERATION = "1.19"    # GET/PUT /resource_providers/{rp}/aggregates
NESTED_PROVIDERS = "1.14"        # GET /resource_providers (root uuids)
SAME_SUBTREE = "1.36"            # GET /allocation_candidates
MEMBER_OF_IN = "1.3"             # GET /resource_providers?member_of=in:


class PlacementClient:
    """Thin wrappers that return the requests.Response: the commands read
    the status codes the way nova's report client does."""

    def __init__(self, session):
        self.session = session

    @classmethod
    def from_conf(cls, conf, discover=True):
        """A client for the [placement] group; like nova's client it first
        reads the version document (GET / without a token), so a Placement
        that is down or misconfigured fails before any work is done."""
        client = cls(Session(conf, "placement", "placement", LABEL,
                             "placement"))
        if discover:
            client.discover()
        return client

    def discover(self):
        """The newest microversion Placement offers (GET /)."""
        url = self.url + "/"
        resp = self.session.send(LABEL, "GET", url, headers=base_headers())
        try:
            versions = resp.json()["versions"]
            return max((v.get("max_version", "1.0") for v in versions),
                       key=lambda v: tuple(int(p) for p in v.split(".")))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ServiceError(LABEL, url, "no version discovery document "
                               "(%s)" % error_text(resp)) from None

    @property
    def url(self):
        return self.session.endpoint()

    def request(self, method, path, body=None, version=None):
        return self.session.request(method, path, body=body,
                                    microversion=version)

    def consumer_allocations(self, consumer):
        return self.request("GET", "/allocations/%s" % consumer,
                            version=CONSUMER_GENERATION)

    def put_allocations(self, consumer, body):
        return self.request("PUT", "/allocations/%s" % consumer, body=body,
                            version=CONSUMER_GENERATION)

    def post_allocations(self, body):
        """Several consumers' allocations in one transaction (1.13;
        consumer generations checked from 1.28): body maps each consumer
        to what its PUT would carry."""
        return self.request("POST", "/allocations", body=body,
                            version=CONSUMER_GENERATION)

    def delete_allocations(self, consumer):
        # nova sends the DELETE without a microversion
        return self.request("DELETE", "/allocations/%s" % consumer)

    def provider_aggregates(self, rp_uuid):
        return self.request("GET", "/resource_providers/%s/aggregates"
                            % rp_uuid, version=AGGREGATE_GENERATION)

    def set_provider_aggregates(self, rp_uuid, aggregates, generation):
        return self.request(
            "PUT", "/resource_providers/%s/aggregates" % rp_uuid,
            body={"aggregates": list(aggregates),
                  "resource_provider_generation": generation},
            version=AGGREGATE_GENERATION)

    def resource_providers(self, uuid=None):
        path = "/resource_providers"
        if uuid is not None:
            from urllib.parse import quote
            path += "?uuid=%s" % quote(uuid, safe="")
        return self.request("GET", path, version=NESTED_PROVIDERS)

    def aggregate_members(self, agg_uuid):
        """The providers in one aggregate: one request answers for every
        host of the aggregate, where asking each provider costs one per
        host even when nothing is to be added."""
        return self.session.request(
            "GET", "/resource_providers", microversion=MEMBER_OF_IN,
            params={"member_of": "in:%s" % agg_uuid})

    def provider_allocations(self, rp_uuid):
        # nova asks at the base microversion
        return self.request("GET", "/resource_providers/%s/allocations"
                            % rp_uuid)

    def allocation_candidates(self, query):
        """query: the encoded query string."""
        return self.request("GET", "/allocation_candidates?%s" % query,
                            version=SAME_SUBTREE)
