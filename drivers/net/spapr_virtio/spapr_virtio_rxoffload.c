/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RX offloads done in software, as far as the device does not do them: virtio gives no
 * packet types and no IPv4 header checksum verdict, and a TCP/UDP checksum verdict only
 * where the device validated it (GUEST_CSUM: DATA_VALID). A port that asks for them gets
 * the rest computed here, per received frame; a port that does not pays nothing.
 * Packet types: the layers rte_net_get_ptype() recognises (L2 with VLAN/QinQ, IPv4/IPv6
 * with extensions, TCP, UDP, SCTP, fragments), as rte_eth_dev_set_ptypes() asked.
 * Checksums: the IPv4 header's, and TCP's or UDP's over IPv4 or IPv6 (a UDP checksum of 0
 * over IPv4 means none: good); GOOD or BAD flags, nothing when it cannot be told (not IP,
 * a fragment, headers beyond the first segment).
 */
/* rte_ipv{4,6}_udptcp_cksum_mbuf_verify() (frames over several segments) are inline and
 * still marked experimental in 22.11: no ABI of DPDK's is used by calling them */
#define ALLOW_EXPERIMENTAL_API
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "spapr_virtio.h"

static const uint32_t ptypes[] = {
	RTE_PTYPE_L2_ETHER, RTE_PTYPE_L2_ETHER_VLAN, RTE_PTYPE_L2_ETHER_QINQ,
	RTE_PTYPE_L3_IPV4, RTE_PTYPE_L3_IPV4_EXT, RTE_PTYPE_L3_IPV6, RTE_PTYPE_L3_IPV6_EXT,
	RTE_PTYPE_L4_TCP, RTE_PTYPE_L4_UDP, RTE_PTYPE_L4_SCTP, RTE_PTYPE_L4_FRAG,
	RTE_PTYPE_UNKNOWN /* the end, for DPDK before 24.11 */
};

const uint32_t *svnet_ptypes(size_t *n)
{
	*n = RTE_DIM(ptypes) - 1;
	return ptypes;
}

uint32_t svnet_ptypes_all(void)
{
	return RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK;
}

/* The checksum flags of a frame whose layers are `pt` and lengths `hl`: a TCP/UDP
 * checksum the device validated (DATA_VALID) is good, one it received partial from a
 * sender that trusts the path (NEEDS_CSUM) is "none" (data intact, field not final). */
static uint64_t cksum_flags(const struct rte_mbuf *m, uint32_t pt, const struct rte_net_hdr_lens *hl,
			    uint8_t vflags)
{
	uint32_t l4 = pt & RTE_PTYPE_L4_MASK;
	uint16_t l3_off = hl->l2_len, l4_off = hl->l2_len + hl->l3_len;
	uint64_t flags = 0;

	if (!RTE_ETH_IS_IPV4_HDR(pt) && !RTE_ETH_IS_IPV6_HDR(pt))
		return 0;
	if (rte_pktmbuf_data_len(m) < (uint32_t)l4_off + (l4 == RTE_PTYPE_L4_TCP ? sizeof(struct rte_tcp_hdr)
									: sizeof(struct rte_udp_hdr)))
		return 0; /* headers beyond the first segment: not told */
	if (RTE_ETH_IS_IPV4_HDR(pt)) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3_off);
		flags |= rte_raw_cksum(ip, hl->l3_len) == 0xffff ? RTE_MBUF_F_RX_IP_CKSUM_GOOD
								 : RTE_MBUF_F_RX_IP_CKSUM_BAD;
	}
	if (l4 != RTE_PTYPE_L4_TCP && l4 != RTE_PTYPE_L4_UDP)
		return flags;
	if (vflags & VIRTIO_NET_HDR_F_DATA_VALID)
		return flags | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	if (vflags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return flags | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	if (RTE_ETH_IS_IPV4_HDR(pt)) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3_off);
		if (l4 == RTE_PTYPE_L4_UDP &&
		    rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, l4_off)->dgram_cksum == 0)
			return flags | RTE_MBUF_F_RX_L4_CKSUM_GOOD; /* no checksum */
		return flags | (rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, l4_off) == 0 ? RTE_MBUF_F_RX_L4_CKSUM_GOOD
										       : RTE_MBUF_F_RX_L4_CKSUM_BAD);
	}
	const struct rte_ipv6_hdr *ip6 = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l3_off);
	return flags | (rte_ipv6_udptcp_cksum_mbuf_verify(m, ip6, l4_off) == 0 ? RTE_MBUF_F_RX_L4_CKSUM_GOOD
									       : RTE_MBUF_F_RX_L4_CKSUM_BAD);
}

void svnet_rx_offload(struct rte_mbuf *m, uint32_t ptype_mask, bool csum, uint8_t vflags)
{
	struct rte_net_hdr_lens hl;
	uint32_t pt = rte_net_get_ptype(m, &hl, svnet_ptypes_all());

	m->packet_type = pt & ptype_mask;
	if (csum)
		m->ol_flags |= cksum_flags(m, pt, &hl, vflags);
}
