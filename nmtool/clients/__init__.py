"""HTTP clients for the services nova-manage talks to: Placement, Neutron
and Keystone (for authentication and the service catalog).

Each service has one small module. What they share is on two floors:
http.py, the errors, headers and failure reasons of every call; and
session.py, the keystoneauth-like configuration read from the nova.conf
group of the service ([placement], [neutron]), authentication (through
keystone.py), TLS and retries. `requests` is imported only when a client is
built, so commands without HTTP start as fast as before.
"""
