// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The smallest librnbd client: open a device by URI, write a block, read it
 * back, compare.
 *
 *   hello-client rnbd://localhost/memory
 *   cc hello-client.c $(pkg-config --cflags --libs librnbd)
 */
#include <stdio.h>
#include <string.h>

#include <rnbd/rnbd.h>

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "rnbd://localhost/memory";
	static char wbuf[4096], rbuf[4096];
	struct rnbd_dev_info info;
	struct rnbd_sess *sess;
	struct rnbd_dev *dev;
	int ret;

	ret = rnbd_open_uri(uri, NULL, &sess, &dev);
	if (ret) {
		fprintf(stderr, "hello-client: %s: %s\n", uri, rnbd_errmsg());
		return 1;
	}
	rnbd_dev_get_info(dev, &info);
	printf("opened %s: %llu bytes, %u-byte blocks, session %s\n", uri,
	       (unsigned long long)info.size, info.logical_block_size, rnbd_sess_name(sess));

	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (char)('a' + i % 26);
	ret = rnbd_dev_pwrite(dev, wbuf, sizeof(wbuf), 0);
	if (!ret)
		ret = rnbd_dev_flush(dev);
	if (!ret)
		ret = rnbd_dev_pread(dev, rbuf, sizeof(rbuf), 0);
	if (ret)
		fprintf(stderr, "hello-client: I/O failed: %s\n", rnbd_errmsg());
	else if (memcmp(wbuf, rbuf, sizeof(wbuf)))
		fprintf(stderr, "hello-client: read back something else than written\n");
	else
		printf("wrote, flushed and read back %zu bytes: identical\n", sizeof(wbuf));

	rnbd_dev_close(dev);
	rnbd_sess_close(sess);
	return ret || memcmp(wbuf, rbuf, sizeof(wbuf)) ? 1 : 0;
}
