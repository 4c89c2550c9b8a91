/*  coordinator/cmd.h: the subcommands that live in files of their own,
    called by main.c with argv[0] = the subcommand's name. Each returns an
    exit status (common/base/exit_codes.h). */
#ifndef FERRY_COORDINATOR_CMD_H
#define FERRY_COORDINATOR_CMD_H

/*  The getopt_long entries the subcommands spell the same way
    (<getopt.h>): --help ('h'), --job FILE ('j'), --json ('J'), and the
    table's end. */
#define CMD_OPT_HELP  { "help", no_argument, NULL, 'h' }
#define CMD_OPT_JOB   { "job", required_argument, NULL, 'j' }
#define CMD_OPT_JSON  { "json", no_argument, NULL, 'J' }
#define CMD_OPT_END   { NULL, 0, NULL, 0 }

/*  ferry-coordinator history (coordinator/cmd_history.c). */
int cmd_history_main (int argc, char **argv);

/*  ferry-coordinator verify (coordinator/cmd_verify.c). */
int cmd_verify_main (int argc, char **argv);

/*  ferry-coordinator tune (coordinator/cmd_tune.c). */
int cmd_tune_main (int argc, char **argv);

#endif
