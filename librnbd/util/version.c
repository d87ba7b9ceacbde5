// SPDX-License-Identifier: LGPL-2.1-or-later
#include "rnbd/rnbd.h"

const char *rnbd_version(void)
{
	return RNBD_VERSION;
}
