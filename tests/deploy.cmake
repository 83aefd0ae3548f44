# deploy/ (docs/deploy.md): what can be checked without Docker or a cluster (check_deploy.py).
set(deploy_dir ${PROJECT_SOURCE_DIR}/deploy)
set(deploy_check ${CMAKE_CURRENT_SOURCE_DIR}/deploy/check_deploy.py)
add_executable(deploy_probe ${CMAKE_CURRENT_SOURCE_DIR}/deploy/deploy_probe.cu)
set_target_properties(deploy_probe PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/deploy)
set(deploy_run --backend $<TARGET_FILE:gvirtus-backend> --gvirtus $<TARGET_FILE:gvirtus>
               --client $<TARGET_FILE:deploy_probe>)

add_test(NAME deploy.systemd
         COMMAND Python3::Interpreter ${deploy_check} systemd
                 --unit ${deploy_dir}/systemd/gvirtus-backend.service
                 --backend $<TARGET_FILE:gvirtus-backend>)
# The unit hands the token over as GVIRTUS_TOKEN_FILE (LoadCredential=).
add_test(NAME deploy.config
         COMMAND Python3::Interpreter ${deploy_check} config ${deploy_run}
                 ${deploy_dir}/backend.json)
add_test(NAME deploy.config_systemd
         COMMAND Python3::Interpreter ${deploy_check} config ${deploy_run} --token-env
                 ${deploy_dir}/systemd/backend.json)
add_test(NAME deploy.k8s
         COMMAND Python3::Interpreter ${deploy_check} k8s ${deploy_run}
                 --manifest ${deploy_dir}/k8s/gvirtus.yaml
                 --schema ${CMAKE_CURRENT_SOURCE_DIR}/deploy/k8s.schema.json)
# The check fails on a misspelt field, and on a Service that misses the pods.
add_test(NAME deploy.k8s_catches_typo
         COMMAND Python3::Interpreter ${deploy_check} k8s ${deploy_run}
                 --manifest ${deploy_dir}/k8s/gvirtus.yaml
                 --schema ${CMAKE_CURRENT_SOURCE_DIR}/deploy/k8s.schema.json
                 --replace "runAsNonRoot: true" "runAsNonRot: true")
set_tests_properties(deploy.k8s_catches_typo PROPERTIES
  PASS_REGULAR_EXPRESSION "FAILED\n- document [0-9] \\(DaemonSet\\): [^\n]*'runAsNonRot' was unexpected")
add_test(NAME deploy.k8s_catches_selector
         COMMAND Python3::Interpreter ${deploy_check} k8s ${deploy_run}
                 --manifest ${deploy_dir}/k8s/gvirtus.yaml
                 --schema ${CMAKE_CURRENT_SOURCE_DIR}/deploy/k8s.schema.json
                 --replace "  selector:\n    app.kubernetes.io/name: gvirtus-backend"
                           "  selector:\n    app.kubernetes.io/name: gvirtus")
set_tests_properties(deploy.k8s_catches_selector PROPERTIES
  PASS_REGULAR_EXPRESSION "the Service's selector [^\n]* does not match the pods' labels")
add_test(NAME deploy.dockerfile
         COMMAND Python3::Interpreter ${deploy_check} dockerfile
                 --dockerfile ${deploy_dir}/Dockerfile --repo ${PROJECT_SOURCE_DIR})
set_tests_properties(deploy.systemd deploy.config deploy.config_systemd deploy.k8s
                     deploy.k8s_catches_typo deploy.k8s_catches_selector deploy.dockerfile
                     PROPERTIES LABELS deploy TIMEOUT 180 SKIP_RETURN_CODE 77)
