/** Where the webhook learns which revision a namespace or workload is assigned to now. */
export interface AssignmentSource {
  /**
   * The revision assigned to one workload (workload granularity), or without `workload` to the whole namespace
   * (namespace granularity); undefined when meshwave manages neither.
   */
  revisionFor(namespace: string, workload?: { readonly kind: string; readonly name: string }): string | undefined;
  /**
   * The revision a namespace's label injected before it was handed over to its workloads (ADR 0011); new
   * workloads and pods there that name no revision get it. Undefined for other namespaces.
   */
  handoffRevisionOf?(namespace: string): string | undefined;
}
