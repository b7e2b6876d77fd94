// The set of fds this addon instance created and still owns.
//
// Ownership rules (also in README "Who owns which fd"):
// - every fd returned by pidfdOpen, socketPair and receiveFds is owned here
//   until closeFd() closes it or releaseFd() hands it to someone else (for
//   example net.Socket({ fd }), which closes it itself from then on);
// - closeFd() closes only owned fds, so closing twice is a no-op instead of
//   closing an unrelated fd that reused the number;
// - when the Node environment is torn down (process exit or a worker
//   thread ending), every fd still owned is closed.
#pragma once

#include <cstddef>
#include <unordered_set>

namespace zygote {

class FdRegistry {
 public:
  FdRegistry() = default;
  FdRegistry(const FdRegistry&) = delete;
  FdRegistry& operator=(const FdRegistry&) = delete;
  ~FdRegistry() { CloseAll(); }

  void Adopt(int fd) { owned_.insert(fd); }
  // Forgets the fd without closing it. False if it was not owned.
  bool Release(int fd) { return owned_.erase(fd) > 0; }
  bool Owns(int fd) const { return owned_.count(fd) > 0; }
  std::size_t size() const { return owned_.size(); }
  void CloseAll();

 private:
  std::unordered_set<int> owned_;
};

}  // namespace zygote
