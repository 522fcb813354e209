"""HTTP clients for the services nova-manage talks to: Placement, Neutron
and Keystone (for authentication and the service catalog).

Each service has one small module; session.py holds what they share: the
keystoneauth-like configuration read from the nova.conf group of the
service ([placement], [neutron]), authentication, TLS, retries and the
request id of the run. `requests` is imported only when a client is
built, so commands without HTTP start as fast as before.
"""
