#include "fd_registry.h"

#include "syscalls.h"

namespace zygote {

void FdRegistry::CloseAll() {
  for (int fd : owned_) CloseFd(fd);
  owned_.clear();
}

}  // namespace zygote
