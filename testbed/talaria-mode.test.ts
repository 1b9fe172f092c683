// Talaria mode needs three other subcommands; `up` names the ones missing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { missingIn, missingSubcommands, pinDir, podProcessName } from './talaria-mode.js';

const help = (cmds: string[]): string => ['Usage: talaria [options] [command]', '', 'Commands:', ...cmds.map((c) => `  ${c} [options]  does things`), '  help [command]  display help'].join('\n');

describe('talaria mode prerequisites', () => {
  it('names the subcommands a help text lacks', () => {
    assert.deepEqual(missingIn(help(['bench', 'testbed'])), ['softswitch', 'controller', 'nodeagent']);
    assert.deepEqual(missingIn(help(['controller', 'testbed'])), ['softswitch', 'nodeagent']);
    assert.deepEqual(missingIn(help(['controller', 'nodeagent', 'softswitch'])), []);
  });

  it('finds them in this build', async () => {
    assert.deepEqual(await missingSubcommands(), []);
  });

  it('pins where the contract says', () => {
    assert.equal(pinDir('switch'), process.env.TALARIA_TESTBED_PREFIX ? pinDir('switch') : '/sys/fs/bpf/talaria/switch');
    if (!process.env.TALARIA_TESTBED_PREFIX) assert.equal(pinDir('node-1'), '/sys/fs/bpf/talaria/node-1');
  });

  it('names the chart pods\' processes: nodeagent-<node>, controller-<lowest free index>', () => {
    const talaria = (component: string) => ({ 'app.kubernetes.io/name': 'talaria', 'app.kubernetes.io/component': component });
    const controllers = new Map<string, number>();
    assert.equal(podProcessName(talaria('node-agent'), 'talaria-node-agent-x', 'node-2', controllers), 'nodeagent-node-2');
    assert.equal(podProcessName(talaria('controller'), 'c-a', 'node-1', controllers), 'controller-0');
    assert.equal(podProcessName(talaria('controller'), 'c-b', 'node-2', controllers), 'controller-1');
    assert.equal(podProcessName(talaria('controller'), 'c-a', 'node-1', controllers), 'controller-0', 'a restart keeps the name');
    controllers.delete('c-a');
    assert.equal(podProcessName(talaria('controller'), 'c-c', 'node-1', controllers), 'controller-0', 'a replacement takes the free name');
    assert.equal(podProcessName({ app: 'echo' }, 'echo-1', 'node-1', controllers), undefined);
  });
});
