# VOXGRAD_SANITIZE=address,undefined instruments every target of this build.
if(VOXGRAD_SANITIZE)
  add_compile_options(-fsanitize=${VOXGRAD_SANITIZE} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VOXGRAD_SANITIZE})
endif()
