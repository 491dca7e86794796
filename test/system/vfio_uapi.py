# SPDX-License-Identifier: BSD-3-Clause
"""The few <linux/vfio.h> numbers the Python-driven scenarios need (x86-64 encoding:
_IO(';', 100 + n)). Python's os/fcntl/mmap go through libc, so under spapr-emu they
reach the emulated kernel exactly like a C program's calls."""
import fcntl
import struct

VFIO_TYPE, VFIO_BASE = ord(";"), 100


def _io(n):
    return (VFIO_TYPE << 8) | (VFIO_BASE + n)


GET_API_VERSION = _io(0)
CHECK_EXTENSION = _io(1)
SET_IOMMU = _io(2)
GROUP_GET_STATUS = _io(3)
GROUP_SET_CONTAINER = _io(4)
GROUP_GET_DEVICE_FD = _io(6)
DEVICE_GET_INFO = _io(7)
DEVICE_GET_REGION_INFO = _io(8)
GET_INFO = _io(12)
MAP_DMA = _io(13)
UNMAP_DMA = _io(14)
ENABLE = _io(15)
REGISTER_MEMORY = _io(17)
TCE_CREATE = _io(19)

SPAPR_TCE_IOMMU, SPAPR_TCE_V2_IOMMU = 2, 7
READ, WRITE = 1, 2
CONFIG_REGION = 7


def ioctl_buf(fd, req, fmt, *values):
    """ioctl with a struct argument; returns the struct as the kernel left it."""
    buf = bytearray(struct.pack(fmt, *values))
    fcntl.ioctl(fd, req, buf, True)
    return struct.unpack(fmt, buf)


def set_container(group_fd, container_fd):
    fcntl.ioctl(group_fd, GROUP_SET_CONTAINER, struct.pack("i", container_fd))


def map_dma(fd, vaddr, iova, size, flags=READ | WRITE):
    ioctl_buf(fd, MAP_DMA, "IIQQQ", 32, flags, vaddr, iova, size)
