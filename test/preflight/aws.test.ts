import { classifyError } from '../../tools/preflight/aws';
import { awsError } from './fixture';

describe('classifyError', () => {
  it.each([
    ['AccessDeniedException', 400, 'denied'],
    ['UnauthorizedOperation', 403, 'denied'],
    ['AccessDenied', 403, 'denied'],
    ['SomeNewForbidden', 403, 'denied'],
    ['ExpiredToken', 403, 'credentials'],
    ['InvalidClientTokenId', 403, 'credentials'],
    ['CredentialsProviderError', 0, 'credentials'],
    ['ResourceNotFoundException', 400, 'service'],
    ['ThrottlingException', 400, 'service'],
  ])('%s (HTTP %d) is %s', (name, status, kind) => {
    const err = classifyError(awsError(name, `${name} happened\nmore detail`, status), 'ec2:DescribeInstances');
    expect(err).toMatchObject({ kind, code: name, action: 'ec2:DescribeInstances', message: `${name} happened` });
  });

  it('treats socket errors as network failures', () => {
    const err = classifyError(Object.assign(new Error('getaddrinfo ENOTFOUND ec2.us-east-1.amazonaws.com'), { code: 'ENOTFOUND' }), 'ec2:DescribeInstances');
    expect(err).toMatchObject({ kind: 'network', code: 'ENOTFOUND' });
  });
});
