import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CNI_PLUGINS, DEFAULT_CNI } from '../../../core/src/addons/index.js';
import { DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, EXPOSE_STRATEGIES, SUPPORTED_VERSIONS, newestVersion } from '../../../core/src/index.js';
import { nodePoolCatalogByProvider, nodePoolDefaultsByProvider, providerCatalog } from '../../../clouds/src/providers/index.js';
import { SeedsService } from '../seeds/seeds.service.js';

/** What a cluster can be created with: the portal's "advanced" panel reads this. */
@ApiTags('catalog')
@ApiBearerAuth()
@Controller('catalog')
export class CatalogController {
  constructor(private readonly seeds: SeedsService) {}

  @Get()
  @ApiOperation({ summary: 'Supported versions, expose strategies, defaults, placement options and cloud providers' })
  async catalog() {
    return {
      versions: SUPPORTED_VERSIONS.map((version) => version.version),
      defaultVersion: newestVersion().version,
      exposeStrategies: EXPOSE_STRATEGIES,
      cniPlugins: CNI_PLUGINS,
      defaults: {
        podCidr: DEFAULT_POD_CIDR,
        serviceCidr: DEFAULT_SERVICE_CIDR,
        exposeStrategy: 'NodePort',
        etcdReplicas: 3,
        cni: DEFAULT_CNI,
        metricsServer: false,
      },
      placement: await this.seeds.placementOptions(),
      nodePoolDefaults: nodePoolDefaultsByProvider(),
      // Every region and size a pool may name; nodePoolDefaults lists the ones the portal offers.
      nodePoolChoices: nodePoolCatalogByProvider(),
      // The portal builds its credential and pool forms from these, so it lists no provider itself.
      providers: providerCatalog(),
    };
  }
}
