# Warnings for our own targets only; dependencies come in as imported targets
# (system includes), so their headers do not trip -Werror.
function(voxgrad_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual)
  if(VOXGRAD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
