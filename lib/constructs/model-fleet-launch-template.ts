import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { FleetSpec } from '../config/fleets';

/**
 * SSM public parameter of the Deep Learning Base OSS NVIDIA Driver GPU AMI (Ubuntu 22.04): docker and
 * the NVIDIA container toolkit installed, instance NVMe mounted at /opt/dlami/nvme (facts.md).
 */
export const GPU_AMI_SSM_PARAMETER = '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id';

/** Root device name of the Ubuntu DLAMI. */
export const ROOT_DEVICE_NAME = '/dev/sda1';

/** Props of {@link FleetLaunchTemplate}. */
export interface FleetLaunchTemplateProps {
  /** Instance type and root volume size of the fleet. */
  readonly fleet: Pick<FleetSpec, 'name' | 'instanceType' | 'rootVolumeGiB'>;
  /** The instance role (an instance profile is created for it). */
  readonly role: iam.IRole;
  /** The instances' security group. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The rendered boot script. */
  readonly userData: string;
}

/**
 * Launch template of one fleet: the DLAMI resolved by EC2 at launch (a new AMI release changes no
 * template, so a deploy replaces no instance; new instances get the newest AMI), IMDSv2 only with hop
 * limit 2 so containers reach it, an encrypted gp3 root volume, and no SSH key.
 */
export class FleetLaunchTemplate extends Construct {
  /** The launch template. */
  readonly launchTemplate: ec2.LaunchTemplate;

  constructor(scope: Construct, id: string, props: FleetLaunchTemplateProps) {
    super(scope, id);
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ec2.MachineImage.resolveSsmParameterAtLaunch(GPU_AMI_SSM_PARAMETER, { os: ec2.OperatingSystemType.LINUX }),
      instanceType: new ec2.InstanceType(props.fleet.instanceType),
      userData: ec2.UserData.custom(props.userData),
      role: props.role,
      securityGroup: props.securityGroup,
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      // Two hops: the vLLM and log-shipper containers reach IMDS through the docker bridge.
      httpPutResponseHopLimit: 2,
      httpEndpoint: true,
      blockDevices: [{
        deviceName: ROOT_DEVICE_NAME,
        volume: ec2.BlockDeviceVolume.ebs(props.fleet.rootVolumeGiB, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
        }),
      }],
    });
  }
}
