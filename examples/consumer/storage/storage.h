// The consumer's own storage/storage.h: a different header from lsmscan's
// "lsmscan/storage/storage.h", and both are included by main.cc.
#ifndef CONSUMER_STORAGE_STORAGE_H_
#define CONSUMER_STORAGE_STORAGE_H_

namespace consumer {

inline const char* StorageName() { return "the consumer's own storage"; }

}  // namespace consumer

#endif  // CONSUMER_STORAGE_STORAGE_H_
