// mimalloc's options, set by the names mimalloc.h gives them: the Rust bindings export no
// constant for them, and an index copied by hand would name another option in another
// version of mimalloc.
#include <mimalloc.h>

// Returns freed memory to the operating system at once rather than after mimalloc's
// default delay (1 s). Returns the delay it replaced, in milliseconds. Not thread-safe:
// call it before other threads exist.
long taskapi_purge_freed_memory_at_once(void) {
  long replaced = mi_option_get(mi_option_purge_delay);
  mi_option_set(mi_option_purge_delay, 0);
  return replaced;
}
