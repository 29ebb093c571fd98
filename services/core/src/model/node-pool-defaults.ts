// What a node pool gets when the request leaves a field out, and the choices the portal offers.
// The core defines the shape; each provider definition (services/clouds) supplies its values.
export interface NodePoolDefaults {
  /** Null when the credential fixes the region (AWS credentials are regional). */
  region: string | null;
  regions: readonly string[];
  size: string;
  sizes: readonly string[];
  image: string;
}
