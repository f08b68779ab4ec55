// The one TU that compiles keyward's functions for the separate-compilation consumer.
#include <keyward/impl/src.hpp>
