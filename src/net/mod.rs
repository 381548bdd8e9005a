//! Network I/O: raw VRRP sockets, AF_PACKET frames, netlink.
