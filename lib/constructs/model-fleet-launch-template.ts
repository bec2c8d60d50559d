import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { FleetSpec } from '../config/fleets';
import { USER_DATA_LIMIT_BYTES } from '../userdata/render';

/**
 * SSM public parameter of the Deep Learning Base OSS NVIDIA Driver GPU AMI (Ubuntu 22.04): docker and
 * the NVIDIA container toolkit installed, instance NVMe mounted at /opt/dlami/nvme (facts.md).
 */
export const GPU_AMI_SSM_PARAMETER = '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id';

/** Root device name of the Ubuntu DLAMI. */
export const ROOT_DEVICE_NAME = '/dev/sda1';

/** Props of {@link FleetLaunchTemplate}. */
export interface FleetLaunchTemplateProps {
  /** Instance type and root volume of the fleet. */
  readonly fleet: Pick<FleetSpec, 'name' | 'instanceType' | 'rootVolumeGiB' | 'rootVolumeThroughputMiBps' | 'rootVolumeIops'>;
  /** The instance role (an instance profile is created for it). */
  readonly role: iam.IRole;
  /** The instances' security group. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The rendered boot script; may hold tokens that resolve to plain strings at synth. */
  readonly userData: string;
}

/**
 * Launch template of one fleet: the DLAMI resolved by EC2 at launch (a new AMI release changes no
 * template, so a deploy replaces no instance; new instances get the newest AMI), IMDSv2 only with hop
 * limit 1 so no container reaches the instance credentials, an encrypted gp3 root volume with the
 * fleet's provisioned throughput and IOPS, and no SSH key.
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
      // One hop: the host only. A container on the docker bridge is a second hop, so vLLM (which runs
      // model code, some of it from the hub) cannot fetch the role's credentials. What needs them
      // runs on the host: the token fetch and signal (aws cli), the metrics publisher, and the
      // docker daemon's awslogs driver that ships the containers' output.
      httpPutResponseHopLimit: 1,
      httpEndpoint: true,
      blockDevices: [{
        deviceName: ROOT_DEVICE_NAME,
        volume: ec2.BlockDeviceVolume.ebs(props.fleet.rootVolumeGiB, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
          throughput: props.fleet.rootVolumeThroughputMiBps,
          iops: props.fleet.rootVolumeIops,
        }),
      }],
    });
    // The renderer measured the script with tokens in it; measure what EC2 will receive.
    this.node.addValidation({
      validate: () => {
        const resolved = Stack.of(this).resolve(props.userData) as unknown;
        const bytes = typeof resolved === 'string' ? Buffer.byteLength(resolved, 'utf8') : 0;
        return bytes > USER_DATA_LIMIT_BYTES
          ? [`fleet ${props.fleet.name}: user data is ${bytes} bytes, expected at most ${USER_DATA_LIMIT_BYTES} (the EC2 limit)`]
          : [];
      },
    });
  }
}
