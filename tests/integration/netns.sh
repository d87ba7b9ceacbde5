# SPDX-License-Identifier: LGPL-2.1-or-later
# Two network namespaces joined by two veth pairs, addresses from the
# benchmarking range 198.18.0.0/15, made and removed by the test:
#   client ns $NS_C  198.18.1.1 (veth $VC1) <-> 198.18.1.2 (veth $VS1)  server ns $NS_S
#                    198.18.2.1 (veth $VC2) <-> 198.18.2.2 (veth $VS2)
# Source after lib.sh; call netns_setup.
NS_S=rnbd-s$$
NS_C=rnbd-c$$
VC1=rc1-$$
VC2=rc2-$$
VS1=rs1-$$
VS2=rs2-$$
SRV_IP1=198.18.1.2
SRV_IP2=198.18.2.2
CLT_IP1=198.18.1.1
CLT_IP2=198.18.2.1

netns_setup() {
	requires_root "network namespaces"
	requires_cmd ip
	ip netns add "$NS_S" || skip "cannot create network namespaces"
	CLEANUPS+=("ip netns del $NS_S")
	ip netns add "$NS_C" || fail "second namespace"
	CLEANUPS+=("ip netns del $NS_C")
	ip link add "$VC1" netns "$NS_C" type veth peer name "$VS1" netns "$NS_S" || skip "no veth"
	ip link add "$VC2" netns "$NS_C" type veth peer name "$VS2" netns "$NS_S" || fail "veth"
	ip -n "$NS_C" addr add "$CLT_IP1/24" dev "$VC1"
	ip -n "$NS_C" addr add "$CLT_IP2/24" dev "$VC2"
	ip -n "$NS_S" addr add "$SRV_IP1/24" dev "$VS1"
	ip -n "$NS_S" addr add "$SRV_IP2/24" dev "$VS2"
	for l in "$VC1" "$VC2" lo; do ip -n "$NS_C" link set "$l" up; done
	for l in "$VS1" "$VS2" lo; do ip -n "$NS_S" link set "$l" up; done
}
