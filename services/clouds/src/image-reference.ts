// Kept apart from the drivers so the API can check a pool's image without loading a cloud SDK.
import { awsImageReferenceProblem } from './aws/image-resolver.js';
import type { CloudProvider } from './driver.js';

/**
 * Refuses, before anything is stored, an image reference the provider would refuse for certain.
 * DigitalOcean images are slugs or numeric ids that only its API can check.
 */
export function imageReferenceProblem(provider: CloudProvider, image: string): string | undefined {
  return provider === 'aws' ? awsImageReferenceProblem(image) : undefined;
}
