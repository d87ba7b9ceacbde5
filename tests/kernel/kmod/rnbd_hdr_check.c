// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Build-only module: our wire headers compile unchanged in kernel context and
 * every item of fields.def has its expected x86-64 value.  Never loaded.
 */
#include <linux/module.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/limits.h>
#include <linux/blk_types.h>
#include <linux/string.h>
#include <asm/page.h>

#include <rnbd/rnbd-proto.h>
#include <rnbd/rtrs-proto.h>
#include <rnbd/rtrs-tcp-proto.h>

/* Integer constant expressions: file scope, independent of the optimizer. */
#define S(s, size)		static_assert(sizeof(struct s) == (size), #s " size");
#define F(s, f, off, size)						\
	static_assert(offsetof(struct s, f) == (off), #s "." #f " offset");	\
	static_assert(sizeof_field(struct s, f) == (size), #s "." #f " size");
#define FAM(s, f, off)							\
	static_assert(offsetof(struct s, f) == (off), #s "." #f " offset");
#define BF(s, f, byte, mask)
#define C(name, val)		static_assert((name) == (val), #name);
#define CK(name, kexpr, val)						\
	static_assert((name) == (val) && (name) == (kexpr), #name " vs " #kexpr);
#include "fields.def"

/*
 * A bitfield's place is not an integer constant expression: BUILD_BUG_ON
 * relies on the optimizer folding the byte read, which only happens in a
 * function that is emitted, hence module init.
 */
#define S(s, size)
#define F(s, f, off, size)
#define FAM(s, f, off)
#define BF(s, f, byte, mask)	do {						\
		union { struct s v; u8 b[sizeof(struct s)]; } u;		\
		memset(&u, 0, sizeof(u));					\
		u.v.f--;	/* all ones, whatever the width */		\
		BUILD_BUG_ON_MSG(u.b[byte] != (mask), #s "." #f " bits");	\
	} while (0);
#define C(name, val)
#define CK(name, kexpr, val)
static int __init rnbd_hdr_check_init(void)
{
#include "fields.def"
	return 0;
}
module_init(rnbd_hdr_check_init);

MODULE_DESCRIPTION("librnbd wire header layout check (build only)");
MODULE_LICENSE("GPL");
