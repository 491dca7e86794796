/* SPDX-License-Identifier: BSD-3-Clause */
/* Internet checksums for the virtio-net model's checksum offloads (VIRTIO_NET_F_CSUM:
 * the device completes a checksum the driver left partial; VIRTIO_NET_F_GUEST_CSUM: the
 * device says a received frame's checksum was validated). */
#ifndef EMU_CSUM_H
#define EMU_CSUM_H

#include <stdbool.h>
#include <stdint.h>

/* virtio 5.1.6.2: the ones' complement sum of frame[start..len), the field at
 * start+offset included (it holds the pseudo-header sum), stored there. false: the
 * request points outside the frame (nothing written). */
bool emu_csum_complete(uint8_t *frame, uint32_t len, uint32_t start, uint32_t offset);
/* Is this an IPv4 or IPv6 TCP or UDP frame (Ethernet, an optional VLAN tag) whose L4
 * checksum is right (a UDP checksum of 0 over IPv4: none, right)? Fragments, other
 * protocols and truncated frames: false. */
bool emu_csum_l4_valid(const uint8_t *frame, uint32_t len);

#endif
