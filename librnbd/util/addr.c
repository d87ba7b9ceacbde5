// SPDX-License-Identifier: LGPL-2.1-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

static int parse_port(const char *p, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(p, &end, 10);
	if (!*p || *end || errno || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int rnbd_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256];
	const char *port_str = NULL;
	uint16_t port = default_port;
	const char *in = s;
	int ret;

	if (!strncmp(s, "ip:", 3))
		s += 3;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			return rnbd_err_set(-EINVAL, "bad address '%s': unmatched '['", in);
		memcpy(host, s + 1, close - s - 1);
		host[close - s - 1] = '\0';
		if (close[1] == ':')
			port_str = close + 2;
		else if (close[1])
			return rnbd_err_set(-EINVAL, "bad address '%s': junk after ']'", in);
		hints.ai_family = AF_INET6;
	} else {
		const char *colon = strchr(s, ':');

		/* a second colon means a bare IPv6 address without a port */
		if (colon && !strchr(colon + 1, ':')) {
			if ((size_t)(colon - s) >= sizeof(host))
				return rnbd_err_set(-EINVAL, "bad address '%s': too long", in);
			memcpy(host, s, colon - s);
			host[colon - s] = '\0';
			port_str = colon + 1;
		} else {
			if (strlen(s) >= sizeof(host))
				return rnbd_err_set(-EINVAL, "bad address '%s': too long", in);
			strcpy(host, s);
		}
	}
	if (!host[0])
		return rnbd_err_set(-EINVAL, "bad address '%s': no host", in);
	if (port_str && parse_port(port_str, &port))
		return rnbd_err_set(-EINVAL, "bad address '%s': port '%s'", in, port_str);
	ret = getaddrinfo(host, NULL, &hints, &res);
	if (ret)
		return rnbd_err_set(-EINVAL, "bad address '%s': %s", in, gai_strerror(ret));
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (out->ss_family == AF_INET)
		((struct sockaddr_in *)out)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)out)->sin6_port = htons(port);
	return 0;
}

const char *rnbd_addr_host(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (!inet_ntop(ss->ss_family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

uint16_t rnbd_addr_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
						((const struct sockaddr_in6 *)ss)->sin6_port);
}

const char *rnbd_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	rnbd_addr_host(ss, host, sizeof(host));
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
		 rnbd_addr_port(ss));
	return buf;
}
