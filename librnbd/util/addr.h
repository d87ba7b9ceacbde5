/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Socket addresses from and to text: "host", "host:port", "[v6]:port". */
#ifndef RNBD_UTIL_ADDR_H
#define RNBD_UTIL_ADDR_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * Parse s (IPv4, IPv6 in brackets or bare, or a host name, with an optional
 * ":port"; the kernel's "ip:" prefix is accepted) into out, with
 * default_port when none is given.  0 or -EINVAL with a message.
 */
int rnbd_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out);

/* "1.2.3.4:1234" or "[::1]:1234" into buf; returns buf. */
const char *rnbd_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);

/* The numeric host part only ("1.2.3.4", "::1"). */
const char *rnbd_addr_host(const struct sockaddr_storage *ss, char *buf, size_t len);

uint16_t rnbd_addr_port(const struct sockaddr_storage *ss);

#endif
