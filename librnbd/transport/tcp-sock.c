// SPDX-License-Identifier: LGPL-2.1-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tcp-sock.h"
#include "util/err.h"
#include "util/log.h"

#define LISTEN_BACKLOG 64

/*
 * The *FORCE variants pass net.core.{w,r}mem_max, which is only 208 KiB on
 * a default Debian; without CAP_NET_ADMIN the size is capped there, and
 * the log says what the connection got.
 */
static void set_buf(int fd, int force_opt, int opt, int want, const char *name)
{
	int got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, force_opt, &want, sizeof(want)))
		setsockopt(fd, SOL_SOCKET, opt, &want, sizeof(want));
	/* Linux reports twice what it was asked for, the bookkeeping included */
	if (!getsockopt(fd, SOL_SOCKET, opt, &got, &len) && got / 2 < want)
		rnbd_log_warn("tcp: %s of %d bytes asked, %d granted (net.core.%s_max)", name,
			      want, got / 2, opt == SO_SNDBUF ? "wmem" : "rmem");
}

static void set_bufs(int fd, int sndbuf, int rcvbuf)
{
	/* Before connect()/listen() so that the window scale covers them. */
	if (sndbuf > 0)
		set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf, "sndbuf");
	if (rcvbuf > 0)
		set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf, "rcvbuf");
}

static bool is_any6(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
}

int tcp_sock_listen(const struct sockaddr *addr, socklen_t len, int sndbuf, int rcvbuf)
{
	char str[INET6_ADDRSTRLEN + 8];
	int one = 1, zero = 0;
	int fd, err;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rnbd_err_set(-errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (is_any6(addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	set_bufs(fd, sndbuf, rcvbuf);
	if (bind(fd, addr, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		return rnbd_err_set(err, "cannot listen on %s: %s",
				    tcp_sock_str(addr, str, sizeof(str)), strerror(-err));
	}
	return fd;
}

int tcp_sock_connect(const struct sockaddr *src, const struct sockaddr *dst, socklen_t len,
		     int sndbuf, int rcvbuf, int *in_progress)
{
	char str[INET6_ADDRSTRLEN + 8];
	int fd, err;

	fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rnbd_err_set(-errno, "socket: %s", strerror(errno));
	set_bufs(fd, sndbuf, rcvbuf);
	if (src && bind(fd, src, len) < 0) {
		err = -errno;
		close(fd);
		return rnbd_err_set(err, "cannot bind to %s: %s",
				    tcp_sock_str(src, str, sizeof(str)), strerror(-err));
	}
	*in_progress = 0;
	if (connect(fd, dst, len) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			return rnbd_err_set(err, "cannot connect to %s: %s",
					    tcp_sock_str(dst, str, sizeof(str)), strerror(-err));
		}
		*in_progress = 1;
	}
	return fd;
}

void tcp_sock_tune(int fd, uint32_t user_timeout_ms)
{
	int one = 1;
	unsigned int uto = user_timeout_ms;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (uto)
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
}

int tcp_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

const char *tcp_sock_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}
