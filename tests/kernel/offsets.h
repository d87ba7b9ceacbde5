/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Expands fields.def into "tag kind name value" records, tag being "both"
 * (also in 6.1) or "ours".  In kernel context the records are asm-offsets
 * style .ascii lines of the generated assembly, so the values come from the
 * compiler without running anything; in userspace they are printed.  The
 * includer defines OFFSETS_KERNEL_SIDE when the headers are the kernel's.
 */
#define FIELD_SIZE(s, f)	sizeof(((struct s *)0)->f)

#ifdef __KERNEL__
#define EMIT(tag, kind, name, val)					\
	asm volatile("\n.ascii \"->" tag " " kind " " name " %0\""	\
		     : : "i" ((long long)(val)))
#else
#define EMIT(tag, kind, name, val)					\
	printf("%s %s %s %lld\n", tag, kind, name, (long long)(val))
#endif

/* Names are stringified here, before any argument is macro-expanded. */
#define ITEM_S(tag, name, size)	EMIT(tag, "size", name, size);
#define ITEM_F(tag, name, off, size)					\
	EMIT(tag, "offset", name, off);					\
	EMIT(tag, "fsize", name, size);
#define ITEM_C(tag, name, val)	EMIT(tag, "const", name, val);

#define S(s, size)	ITEM_S("both", #s, sizeof(struct s))
#define F(s, f, off, size) \
	ITEM_F("both", #s "." #f, offsetof(struct s, f), FIELD_SIZE(s, f))
#define FAM(s, f, off)	EMIT("both", "offset", #s "." #f, offsetof(struct s, f));
/*
 * offsetof cannot name a bitfield: set it to all ones in a zeroed struct and
 * report the byte that should hold it.  In kernel context the optimizer folds
 * the read into the constant the "i" operand needs.
 */
#define BF(s, f, byte, mask) do {					\
		union { struct s v; __u8 b[sizeof(struct s)]; } u;	\
		memset(&u, 0, sizeof(u));				\
		u.v.f--;	/* all ones, whatever the width */	\
		EMIT("both", "bits", #s "." #f "@" #byte, u.b[byte]);	\
	} while (0);
#define C(name, val)	ITEM_C("both", #name, name)

#ifdef OFFSETS_KERNEL_SIDE
#define CK(name, kexpr, val)	ITEM_C("both", #name, kexpr)
#define OS(...)
#define OF(...)
#define OC(...)
#else
#define CK(name, kexpr, val)	ITEM_C("both", #name, name)
#define OS(s, size)	ITEM_S("ours", #s, sizeof(struct s))
#define OF(s, f, off, size) \
	ITEM_F("ours", #s "." #f, offsetof(struct s, f), FIELD_SIZE(s, f))
#define OC(name, val)	ITEM_C("ours", #name, name)
#endif

void rnbd_offsets(void);
void rnbd_offsets(void)
{
#include "fields.def"
}
