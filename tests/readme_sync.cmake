# ctest driver: the usage example in README.md must be tests/package/main.cpp
# verbatim, so the README's code is the code that is built and run.
file(READ ${README} readme)
file(READ ${EXAMPLE} example)
string(FIND "${readme}" "```cpp\n${example}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md's usage example differs from tests/package/main.cpp; copy it over")
endif()
