#include "syscalls.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <linux/types.h>

// glibc 2.36 wraps neither pidfd_open nor pidfd_send_signal, and older
// headers lack the constants; the numbers are part of the stable kernel ABI.
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace zygote {

namespace {
int ErrnoResult(long rc) { return rc < 0 ? -errno : static_cast<int>(rc); }
}  // namespace

int OpenPidfd(pid_t pid) {
  return ErrnoResult(syscall(SYS_pidfd_open, pid, PIDFD_NONBLOCK));
}

int SendSignal(int pidfd, int signal) {
  return ErrnoResult(
      syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

int OpenSocketPair(bool nonblock, int fds[2]) {
  int type = SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
  return ErrnoResult(socketpair(AF_UNIX, type, 0, fds));
}

ssize_t SendWithFds(int sock, const void* data, size_t length,
                    const std::vector<int>& fds) {
  // A stream socket cannot carry ancillary data without at least one byte.
  if (length == 0) return -EINVAL;
  if (fds.size() > static_cast<size_t>(kMaxPassedFds)) return -EINVAL;

  struct iovec iov;
  iov.iov_base = const_cast<void*>(data);
  iov.iov_len = length;

  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;

  std::vector<char> control;
  if (!fds.empty()) {
    size_t payload = fds.size() * sizeof(int);
    control.assign(CMSG_SPACE(payload), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(payload);
    memcpy(CMSG_DATA(cmsg), fds.data(), payload);
  }

  ssize_t rc;
  do {
    rc = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? -errno : rc;
}

ssize_t ReceiveMessage(int sock, void* data, size_t capacity, size_t max_fds,
                       ReceivedMessage* out) {
  struct iovec iov;
  iov.iov_base = data;
  iov.iov_len = capacity;

  // Room for max_fds descriptors and for the sender's credentials, which
  // the kernel adds when SO_PASSCRED is on. Without room for fds the kernel
  // closes any that arrive and sets MSG_CTRUNC, reported as `truncated`.
  size_t space = CMSG_SPACE(sizeof(struct ucred));
  if (max_fds > 0) space += CMSG_SPACE(max_fds * sizeof(int));
  std::vector<char> control(space, 0);

  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();

  ssize_t rc;
  do {
    rc = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return -errno;

  bool extra = false;
  out->sender_pid = 0;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr;
       cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET) continue;
    if (cmsg->cmsg_type == SCM_CREDENTIALS &&
        cmsg->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred cred;
      memcpy(&cred, CMSG_DATA(cmsg), sizeof cred);
      out->sender_pid = cred.pid;
      continue;
    }
    if (cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* p = CMSG_DATA(cmsg);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, p + i * sizeof(int), sizeof(int));
      // CMSG_SPACE rounds up, so the kernel may deliver more than asked
      // for; the limit is the caller's, so close the extra ones.
      if (out->fds.size() < max_fds) {
        out->fds.push_back(fd);
      } else {
        close(fd);
        extra = true;
      }
    }
  }
  out->truncated = extra || (msg.msg_flags & MSG_CTRUNC) != 0;
  return rc;
}

int SetPassCredentials(int sock, bool on) {
  int value = on ? 1 : 0;
  return ErrnoResult(setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &value, sizeof value));
}

int SetChildSubreaper(bool on) {
  return ErrnoResult(prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0));
}

int GetChildSubreaper(bool* on) {
  int value = 0;
  int rc = ErrnoResult(prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0));
  if (rc == 0) *on = value != 0;
  return rc;
}

int ReapPidfd(int pidfd, ExitStatus* status) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd),
                &info, WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return -errno;
  // WNOHANG with nothing to report leaves si_pid zero (waitid(2)).
  if (info.si_pid == 0) return 0;

  status->pid = info.si_pid;
  status->code = -1;
  status->signal = 0;
  status->core_dumped = false;
  switch (info.si_code) {
    case CLD_EXITED:
      status->code = info.si_status;
      break;
    case CLD_KILLED:
      status->signal = info.si_status;
      break;
    case CLD_DUMPED:
      status->signal = info.si_status;
      status->core_dumped = true;
      break;
  }
  return 1;
}

int CloseFd(int fd) {
  // Linux always releases the fd, even when close returns EINTR; retrying
  // could close an fd another thread just opened with the same number.
  int rc = close(fd);
  return rc < 0 && errno != EINTR ? -errno : 0;
}

}  // namespace zygote
