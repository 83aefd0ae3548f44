// Descriptors passed over Unix sockets (SCM_RIGHTS): the shm: setup and its pinned blocks
// (transport_shm.cc), and the daemon handing connections to workers (backend/handshake.cc).
#pragma once
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <vector>

namespace gvirtus {

// One sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) of iov with nfds (1 to 4) descriptors attached,
// retried on EINTR only: the result and errno are sendmsg's.
ssize_t send_with_fds(int sock, const iovec* iov, int iovcnt, const int* fds, int nfds);

// The descriptors a received message carries, in order (every SCM_RIGHTS block).
std::vector<int> received_fds(msghdr* m);

// One recvmsg(flags | MSG_CMSG_CLOEXEC) of up to n bytes into buf with room for 4 descriptors,
// retried on EINTR only: the result and errno are recvmsg's. *fds: the descriptors it carried
// (the caller's to close); *msg_flags, if given: the message's flags (MSG_TRUNC, MSG_CTRUNC).
ssize_t recv_with_fds(int sock, void* buf, size_t n, int flags, std::vector<int>* fds,
                      int* msg_flags = nullptr);

}  // namespace gvirtus
