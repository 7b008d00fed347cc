// Package portproxy is the userland proxy of published ports: it serves
// host sockets bound elsewhere (network.BindPorts) by copying TCP
// connections and UDP datagrams to a container's address. It lives in a
// leaf with no netlink or libcontainer below it because it runs in the
// container's long-lived monitor (cmd/berth-monitor-idle), which must stay
// small; Files and FromFiles carry its sockets across the monitor's exec.
package portproxy
